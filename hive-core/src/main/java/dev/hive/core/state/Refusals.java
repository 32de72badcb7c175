package dev.hive.core.state;

import dev.hive.api.ConflictException;
import dev.hive.api.HiveException;
import dev.hive.api.InvalidSpecException;
import dev.hive.api.NotFoundException;

/**
 * A refusal as text ({@code ERR|kind|message}), so that it can travel in a log reply or an
 * exception's message and be raised again as the same exception on the caller's node.
 */
public final class Refusals {
  private Refusals() {}

  /** Returns {@code e} as text. */
  public static String encode(HiveException e) {
    String kind = e instanceof InvalidSpecException i ? "invalid:" + i.field() : e instanceof NotFoundException ? "notfound" : e instanceof ConflictException ? "conflict" : "error";
    String message = e instanceof InvalidSpecException i ? i.reason() : e.getMessage();
    return "ERR|" + kind + "|" + message;
  }

  /** Returns the refusal carried in {@code text} (anywhere in it), or null when it carries none. */
  public static HiveException decode(String text) {
    int start = text.indexOf("ERR|");
    if (start < 0) {
      return null;
    }
    String[] parts = text.substring(start).split("\\|", 3);
    String message = parts.length > 2 ? parts[2] : text;
    String kind = parts.length > 1 ? parts[1] : "error";
    if (kind.startsWith("invalid:")) {
      return new InvalidSpecException(kind.substring("invalid:".length()), message);
    }
    return switch (kind) {
      case "notfound" -> new NotFoundException(message);
      case "conflict" -> new ConflictException(message);
      default -> new HiveException(message);
    };
  }
}
