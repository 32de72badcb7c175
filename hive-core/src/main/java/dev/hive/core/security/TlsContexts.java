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
    private final X509Certificate ca;
    private final JoinToken token;

    ClusterTrustManager(X509Certificate ca, JoinToken token) {
      this.ca = ca;
      this.token = token;
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new CertificateException("no certificate: a node needs the cluster's join token");
      }
      if (signedBy(chain[0], ca)) {
        return;
      }
      if (token != null && ClusterPki.isValidJoiner(chain[0], token)) {
        return;
      }
      throw new CertificateException("peer is neither a member of this cluster nor a joiner with its join token");
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      if (chain == null || chain.length == 0 || !signedBy(chain[0], ca)) {
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
      checkClientTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket) throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine) throws CertificateException {
      checkClientTrusted(chain, authType);
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
