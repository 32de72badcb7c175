package dev.hive.core.security;

import java.net.Socket;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import javax.net.ssl.KeyManager;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.TrustManager;
import javax.net.ssl.X509ExtendedKeyManager;
import javax.net.ssl.X509TrustManager;

/**
 * TLS 1.3 contexts for node-to-node traffic. Members present their CA-signed certificate and
 * accept only CA-signed peers; a member server also accepts a joiner whose self-signed
 * certificate proves it knows the join token -- everything else fails the handshake.
 */
public final class TlsContexts {
  private TlsContexts() {}

  /** A member's context: its certificate, the cluster CA, and (to admit joiners) the token. */
  public static SSLContext member(ClusterPki pki, JoinToken tokenOrNull) {
    return context(
        new SingleKeyManager(pki.nodeKeys().getPrivate(), new X509Certificate[] {pki.nodeCertificate(), pki.caCertificate()}),
        new ClusterTrustManager(pki.caCertificate(), tokenOrNull));
  }

  /**
   * A joiner's context: a self-signed certificate carrying its token proof. It accepts any server
   * certificate at the handshake; the join response proves the server knows the token, and the
   * server's certificate is then checked against the CA that response carries.
   */
  public static SSLContext joiner(KeyPair keys, X509Certificate joinerCert) {
    return context(new SingleKeyManager(keys.getPrivate(), new X509Certificate[] {joinerCert}), new AcceptAnyServer());
  }

  /** Returns the trust manager of a member context, for Ratis' gRPC TLS. */
  public static javax.net.ssl.X509ExtendedTrustManager memberTrust(ClusterPki pki) {
    return new ClusterTrustManager(pki.caCertificate(), null);
  }

  /** Returns the key manager of a member context, for Ratis' gRPC TLS. */
  public static X509ExtendedKeyManager memberKeys(ClusterPki pki) {
    return new SingleKeyManager(pki.nodeKeys().getPrivate(), new X509Certificate[] {pki.nodeCertificate(), pki.caCertificate()});
  }

  /**
   * Returns true when the peer of a finished handshake on a member context proved a member's
   * certificate (signed by the cluster CA), false for a joiner proving the token.
   */
  public static boolean isMember(javax.net.ssl.SSLSession session) {
    return Boolean.TRUE.equals(session.getValue(MEMBER));
  }

  /** The session value a member context's trust manager sets when the peer is a member. */
  private static final String MEMBER = "dev.hive.member";

  /** Returns true when {@code cert} is signed by {@code ca} and valid now. */
  public static boolean signedBy(X509Certificate cert, X509Certificate ca) {
    try {
      cert.verify(ca.getPublicKey());
      cert.checkValidity();
      return true;
    } catch (GeneralSecurityException e) {
      return false;
    }
  }

  private static SSLContext context(KeyManager keys, TrustManager trust) {
    try {
      SSLContext ctx = SSLContext.getInstance("TLSv1.3");
      ctx.init(new KeyManager[] {keys}, new TrustManager[] {trust}, new SecureRandom());
      return ctx;
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException("TLSv1.3 is part of every JDK 17", e);
    }
  }

  /** Always offers its one key, whatever issuers the peer names (a joiner's is self-signed). */
  private static final class SingleKeyManager extends X509ExtendedKeyManager {
    private final PrivateKey key;
    private final X509Certificate[] chain;

    SingleKeyManager(PrivateKey key, X509Certificate[] chain) {
      this.key = key;
      this.chain = chain;
    }

    @Override
    public String[] getClientAliases(String keyType, Principal[] issuers) {
      return new String[] {"hive"};
    }

    @Override
    public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
      return "hive";
    }

    @Override
    public String chooseEngineClientAlias(String[] keyType, Principal[] issuers, SSLEngine engine) {
      return "hive";
    }

    @Override
    public String[] getServerAliases(String keyType, Principal[] issuers) {
      return new String[] {"hive"};
    }

    @Override
    public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
      return "hive";
    }

    @Override
    public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
      return "hive";
    }

    @Override
    public X509Certificate[] getCertificateChain(String alias) {
      return chain.clone();
    }

    @Override
    public PrivateKey getPrivateKey(String alias) {
      return key;
    }
  }

  /**
   * Trusts by the cluster CA, not by host name: nodes are named by the node id in their
   * certificate, and addresses change. Extending X509ExtendedTrustManager keeps the JDK (and
   * netty) from wrapping it in a host name check.
   */
  private static final class ClusterTrustManager extends javax.net.ssl.X509ExtendedTrustManager {
    /**
     * Member certificates this node has checked against the CA. A node meets each peer's
     * certificate again and again (each direction of each connection); a signature check is a
     * good part of a handshake, and fifty nodes forming make some 2,500 connections. A cached
     * certificate still has its validity checked, and the peer still proves its key in the
     * handshake.
     */
    private final java.util.Set<X509Certificate> verified = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private static final int MAX_VERIFIED = 4096;
    private final X509Certificate ca;
    private final JoinToken token;

    ClusterTrustManager(X509Certificate ca, JoinToken token) {
      this.ca = ca;
      this.token = token;
    }

    private boolean member(X509Certificate cert) {
      if (verified.contains(cert)) {
        try {
          cert.checkValidity();
          return true;
        } catch (CertificateException e) {
          verified.remove(cert);
          return false;
        }
      }
      if (!signedBy(cert, ca)) {
        return false;
      }
      if (verified.size() >= MAX_VERIFIED) {
        verified.clear();
      }
      verified.add(cert);
      return true;
    }

    /** Checks a client and returns true when it is a member (false: a joiner with the token). */
    private boolean checkClient(X509Certificate[] chain) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new CertificateException("no certificate: a node needs the cluster's join token");
      }
      if (member(chain[0])) {
        return true;
      }
      if (token != null && ClusterPki.isValidJoiner(chain[0], token)) {
        return false;
      }
      throw new CertificateException("peer is neither a member of this cluster nor a joiner with its join token");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      checkClient(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      if (chain == null || chain.length == 0 || !member(chain[0])) {
        throw new CertificateException("server certificate is not signed by this cluster's CA");
      }
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      // Empty: naming the CA would make a joiner's client stack hide its self-signed certificate.
      return new X509Certificate[0];
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      boolean member = checkClient(chain);
      // Tell the transport what the handshake proved, so that it need not check the signature again.
      if (member && socket instanceof javax.net.ssl.SSLSocket ssl && ssl.getHandshakeSession() != null) {
        ssl.getHandshakeSession().putValue(MEMBER, Boolean.TRUE);
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      checkClient(chain);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      checkServerTrusted(chain, authType);
    }
  }

  private static final class AcceptAnyServer extends javax.net.ssl.X509ExtendedTrustManager {
    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("a joiner accepts no clients");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) {}

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) {}

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine) {}
  }
}
