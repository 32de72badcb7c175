package dev.hive.discovery.udp;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * One beacon: {@code "HIVE" version:u8 clusterLen:u8 cluster idLen:u8 id hostLen:u8 host port:u16
 * sentAtMillis:u64 hmac[32]}. The HMAC-SHA256, keyed by the join token, covers everything before
 * it, so a node without the token can neither forge a beacon nor alter one.
 */
record Beacon(String cluster, String nodeId, String host, int port, long sentAtMillis) {
  private static final byte[] MAGIC = {'H', 'I', 'V', 'E'};
  private static final byte VERSION = 1;
  static final int MAX_SIZE = 4 + 1 + 3 * 256 + 2 + 8 + 32;

  byte[] encode(byte[] key) {
    byte[] c = cluster.getBytes(StandardCharsets.UTF_8);
    byte[] n = nodeId.getBytes(StandardCharsets.UTF_8);
    byte[] h = host.getBytes(StandardCharsets.UTF_8);
    ByteBuffer b = ByteBuffer.allocate(4 + 1 + 1 + c.length + 1 + n.length + 1 + h.length + 2 + 8 + 32);
    b.put(MAGIC).put(VERSION).put((byte) c.length).put(c).put((byte) n.length).put(n).put((byte) h.length).put(h)
        .putShort((short) port).putLong(sentAtMillis);
    b.put(hmac(key, b.array(), b.position()));
    return b.array();
  }

  /** Returns the beacon, or null when the bytes are not a beacon signed with {@code key}. */
  static Beacon decode(byte[] data, int length, byte[] key) {
    try {
      if (length < 4 + 1 + 3 + 2 + 8 + 32 || length > MAX_SIZE) {
        return null;
      }
      ByteBuffer b = ByteBuffer.wrap(data, 0, length);
      for (byte m : MAGIC) {
        if (b.get() != m) {
          return null;
        }
      }
      if (b.get() != VERSION) {
        return null;
      }
      String cluster = string(b);
      String nodeId = string(b);
      String host = string(b);
      int port = b.getShort() & 0xffff;
      long sent = b.getLong();
      int signedLength = b.position();
      byte[] mac = new byte[32];
      b.get(mac);
      if (b.position() != length || !MessageDigest.isEqual(mac, hmac(key, data, signedLength))) {
        return null;
      }
      return new Beacon(cluster, nodeId, host, port, sent);
    } catch (RuntimeException e) {
      return null;
    }
  }

  private static String string(ByteBuffer b) {
    byte[] s = new byte[b.get() & 0xff];
    b.get(s);
    return new String(s, StandardCharsets.UTF_8);
  }

  static byte[] hmac(byte[] key, byte[] data, int length) {
    try {
      Mac mac = Mac.getInstance("HmacSHA256");
      mac.init(new SecretKeySpec(key, "HmacSHA256"));
      mac.update("udp-beacon".getBytes(StandardCharsets.UTF_8));
      mac.update((byte) 0);
      mac.update(data, 0, length);
      return mac.doFinal();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
    }
  }
}
