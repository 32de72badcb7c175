package dev.hive.examples.cli;

/** A CLI failure: printed as one line, exit code 1. */
final class CliException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  CliException(String message) {
    super(message);
  }
}
