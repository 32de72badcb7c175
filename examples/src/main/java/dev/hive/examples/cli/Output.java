package dev.hive.examples.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Prints API answers as a table for people or as JSON for scripts. */
final class Output {
  /** The formats of {@code --output}. */
  enum Format {
    table,
    json
  }

  private Output() {}

  /** Prints {@code rows} (a JSON array of objects) as a table with the given columns, or as JSON. */
  static void print(PrintWriter out, Format format, JsonNode rows, String... columns) {
    if (format == Format.json) {
      json(out, rows);
      return;
    }
    List<String[]> lines = new ArrayList<>();
    String[] header = new String[columns.length];
    for (int i = 0; i < columns.length; i++) {
      header[i] = columns[i].toUpperCase(java.util.Locale.ROOT);
    }
    lines.add(header);
    for (JsonNode row : rows.isArray() ? rows : List.of(rows)) {
      String[] line = new String[columns.length];
      for (int i = 0; i < columns.length; i++) {
        line[i] = cell(row.get(columns[i]));
      }
      lines.add(line);
    }
    int[] widths = new int[columns.length];
    for (String[] line : lines) {
      for (int i = 0; i < line.length; i++) {
        widths[i] = Math.max(widths[i], line[i].length());
      }
    }
    for (String[] line : lines) {
      StringBuilder sb = new StringBuilder();
      for (int i = 0; i < line.length; i++) {
        sb.append(i == line.length - 1 ? line[i] : String.format("%-" + (widths[i] + 2) + "s", line[i]));
      }
      out.println(sb.toString().stripTrailing());
    }
    out.flush();
  }

  /** Prints one object as "key: value" lines, or as JSON. */
  static void printObject(PrintWriter out, Format format, JsonNode object) {
    if (format == Format.json) {
      json(out, object);
      return;
    }
    object.fields().forEachRemaining(e -> {
      if (e.getValue().isObject() && e.getValue().size() > 0) {
        out.println(e.getKey() + ":");
        e.getValue().fields().forEachRemaining(inner -> out.println("  " + inner.getKey() + ": " + cell(inner.getValue())));
      } else {
        out.println(e.getKey() + ": " + cell(e.getValue()));
      }
    });
    out.flush();
  }

  static void json(PrintWriter out, JsonNode node) {
    try {
      out.println(new ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(node));
      out.flush();
    } catch (java.io.IOException e) {
      throw new CliException("cannot print JSON: " + e.getMessage());
    }
  }

  private static String cell(JsonNode v) {
    if (v == null || v.isNull()) {
      return "-";
    }
    if (v.isArray()) {
      List<String> items = new ArrayList<>();
      v.forEach(x -> items.add(cell(x)));
      return String.join(",", items);
    }
    if (v.isObject()) {
      List<String> items = new ArrayList<>();
      v.fields().forEachRemaining(e -> items.add(e.getKey() + "=" + cell(e.getValue())));
      return String.join(",", items);
    }
    return v.asText();
  }
}
