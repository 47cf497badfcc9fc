import HummingbirdCore
import HummingbirdTLS
import NIOSSL

/// The station's HTTPS: a certificate chain and its key (PEM) read once at
/// start, TLS 1.2 or later. A module of its own, linked by the pumpd
/// executable only, so that BoringSSL is built for pumpd and nothing else
/// (not for the fuzz targets, which read the daemon's config and forms).
public enum StationTLS {
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    public static func server(certificate: String, key: String) throws -> HTTPServerBuilder {
        let configuration: TLSConfiguration
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            guard !chain.isEmpty else { throw Problem(description: "no certificate in the file") }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            var c = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
            c.minimumTLSVersion = .tlsv12
            configuration = c
        } catch {
            throw Problem(description: "cannot read the station's TLS certificate \(certificate) or key \(key) (PEM files): \(error)")
        }
        return try .tls(.http1(), tlsConfiguration: configuration)
    }
}
