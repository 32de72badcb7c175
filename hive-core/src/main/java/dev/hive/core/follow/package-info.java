/**
 * Clients following servers: {@link dev.hive.core.follow.ChangeFeed} on a server pushes its
 * applied log (a snapshot, then every change with its log index) to the clients that follow it
 * and takes their writes and questions; {@link dev.hive.core.follow.FollowedLog} is a client's
 * command log, a copy of the state that follows one server and writes through it. As Nomad's
 * clients follow its servers, and Consul's agents their servers, with blocking queries.
 */
package dev.hive.core.follow;
