import Crypto

/// Stable `urn:uuid:` names for the resources of an export: the same record
/// gets the same UUID in every export, so a health record that imports two
/// Bundles sees one patient, one implant and one statement per program change.
///
/// Name-based, from SHA-256 (RFC 9562's version 8 with a SHA-256 hash, its
/// appendix B.2): the first 16 bytes of the hash of a name, with the version
/// and variant bits set. Every name starts with the patient record's id and
/// creation time, so two pumpd installations that both have a "p1" do not
/// give their patients one UUID.
public struct FHIRIdentity: Sendable, Hashable {
    let namespace: String

    public init(patientId: String, createdMs: Int64) {
        namespace = "pumpd/patient/\(patientId)/\(createdMs)"
    }

    public var patient: String { Self.uuid(namespace) }
    public func device(serial: String) -> String { Self.uuid(namespace + "/device/" + serial) }
    public func statement(commandId: String) -> String { Self.uuid(namespace + "/command/" + commandId) }
    /// One observation of one status reading (pumpd's read time and the pump's clock tell readings apart).
    public func observation(_ code: String, readAtMs: Int64, deviceSeconds: Int64) -> String {
        Self.uuid(namespace + "/observation/\(code)/\(readAtMs)/\(deviceSeconds)")
    }

    /// "xxxxxxxx-xxxx-8xxx-yxxx-xxxxxxxxxxxx" in lower case, as FHIR's uuid type writes it.
    public static func uuid(_ name: String) -> String {
        var b = Array(SHA256.hash(data: Array(name.utf8)).prefix(16))
        b[6] = (b[6] & 0x0F) | 0x80  // version 8
        b[8] = (b[8] & 0x3F) | 0x80  // variant 10
        let hex = b.map { byte -> String in
            let digits = Array("0123456789abcdef")
            return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
        }
        let parts = [hex[0..<4], hex[4..<6], hex[6..<8], hex[8..<10], hex[10..<16]]
        return parts.map { $0.joined() }.joined(separator: "-")
    }

    public static func urn(_ uuid: String) -> String { "urn:uuid:" + uuid }
}
