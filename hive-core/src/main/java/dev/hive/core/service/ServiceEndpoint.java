package dev.hive.core.service;

/**
 * One healthy instance of a service, where connections reach it.
 *
 * @param service the service name
 * @param app the app it belongs to
 * @param instance the instance id
 * @param node the id of the node that runs it
 * @param host the node's address
 * @param port the host port of the app's first port on that node
 */
public record ServiceEndpoint(String service, String app, String instance, String node, String host, int port) {
  /** Returns {@code host:port}. */
  public String address() {
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
  }
}
