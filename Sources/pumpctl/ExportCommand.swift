import ArgumentParser
import Client
import Glibc
import JSON

/// `pumpctl export`: pumpd's records for other systems.
struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export records for other systems: a FHIR R4 Bundle for the health record.",
        subcommands: [FHIRExportCommand.self]
    )
}

/// `pumpctl export fhir`: a visit, or a patient's period, as the FHIR R4
/// Bundle pumpd answers on `/v1/fhir/...`, written as it came.
struct FHIRExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fhir",
        abstract: "A visit, or a patient over a period, as a FHIR R4 Bundle (JSON) for the health record.",
        discussion: """
            The Bundle (type "collection") holds the Patient (the clinic's identifier as a medical \
            record number, the name), the implant as a Device (serial, model), the pump's latest \
            reading as Observations (reservoir volume in mL, the current rate in mg/d or ug/d as \
            the drug library writes the drug, the battery in V; UCUM units, exact decimals) and \
            each program change the pump confirmed as a MedicationStatement (the drug, when it \
            took effect and until when, intrathecal, the dose on an average day, the patient's \
            bolus). Pushes that were refused, are uncertain or were not applied are not in it. \
            Entries are named urn:uuid: UUIDs that stay the same from one export to the next.

              pumpctl export fhir --visit v3 -o v3.fhir.json
              pumpctl export fhir --patient p1 --from 2026-03-01 --to 2026-03-31 -o march.json
              pumpctl export fhir --patient p1 --from 2026-03-01T08:00:00+01:00 --to 2026-03-01T12:00:00+01:00

            A visit's export holds the program changes made in it and the pump as the visit left \
            it (read now while it is open and its implant is under the head). A period's holds \
            every change in effect at some moment of it, and the newest reading taken in it. A \
            date alone is that whole day in pumpd's time zone (--to included); a time is RFC 3339 \
            with its offset, and --to is then the first moment left out.

            The file names the patient: it is written owner-only (0600), never through a symbolic \
            link. Clinicians and nurses only (exit 4 for others); an unknown visit or patient, or \
            a period pumpd cannot read, is exit 3. Besides pumpctl's usual exit codes: 73 FILE \
            cannot be created, 74 writing it failed (a full disk, say).
            """
    )

    @Option(help: ArgumentHelp("The visit to export, such as v3 (`pumpctl visit list`).", valueName: "id")) var visit: String?
    @Option(help: ArgumentHelp("The patient to export over --from … --to, such as p1 (`pumpctl patient list`).", valueName: "id"))
    var patient: String?
    @Option(help: ArgumentHelp("The period's first day (YYYY-MM-DD) or moment (RFC 3339, with its offset).", valueName: "date"))
    var from: String?
    @Option(help: ArgumentHelp("The period's last day (YYYY-MM-DD, included) or the moment it ends (RFC 3339, left out).", valueName: "date"))
    var to: String?
    @Option(name: [.customShort("o"), .customLong("output")], help: ArgumentHelp("Write the Bundle to this file (created 0600) instead of standard output.", valueName: "file"))
    var output: String?
    @OptionGroup var daemon: DaemonOptions

    func validate() throws {
        switch (visit, patient) {
        case (nil, nil):
            throw ValidationError("say what to export: --visit ID, or --patient ID --from DATE --to DATE")
        case (.some, .some):
            throw ValidationError("--visit and --patient are two exports; give one of them")
        case (let v?, nil):
            try VisitCommand.checkID(v)
            guard from == nil, to == nil else { throw ValidationError("--from and --to go with --patient; a visit's export is the visit") }
        case (nil, let p?):
            try VisitCommand.checkID(p)
            guard from != nil, to != nil else {
                throw ValidationError("a patient's export needs its period: --from DATE --to DATE (YYYY-MM-DD, or RFC 3339 times such as 2026-03-01T08:00:00Z)")
            }
        }
    }

    var path: String {
        if let visit { return "/v1/fhir/visits/\(visit)" }
        return "/v1/fhir/patients/\(patient ?? "")?from=\(Self.query(from ?? ""))&to=\(Self.query(to ?? ""))"
    }

    /// A query value as sent: unreserved characters and ":" as they are,
    /// every other byte %XX ("+01:00" must not arrive as a space).
    static func query(_ value: String) -> String {
        var out = ""
        for b in value.utf8 {
            switch b {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let hex = Array("0123456789ABCDEF")
                out += "%" + String([hex[Int(b >> 4)], hex[Int(b & 0x0F)]])
            }
        }
        return out
    }

    func run() throws {
        let pumpd = daemon.pumpd
        let path = self.path
        let response = try Pumpd.call { () throws(ClientError) in try pumpd.client.request("GET", path, headers: [("Accept", "application/fhir+json")]) }
        let type = response.header("Content-Type")?.lowercased() ?? ""
        guard response.status == 200, type.hasPrefix("application/fhir+json") else {
            // An error is the API's JSON: said plainly, with its exit code.
            _ = try pumpd.check(response)
            Terminal.error("pumpd answered \(type.isEmpty ? "no content type" : type), not a FHIR Bundle")
            throw ExitStatus.internal.exit
        }
        guard let output else { return Terminal.write(response.body) }
        try Self.write(response.body, to: output)
        Terminal.error("wrote \(output) (\(response.body.count) bytes)")
    }

    /// The Bundle to `path`, owner-only (it names the patient), replacing
    /// what was there; never through a symbolic link.
    static func write(_ bytes: [UInt8], to path: String) throws {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            Terminal.error("cannot write \(path): \(String(cString: strerror(errno)))")
            throw AuditBackupCommand.cantCreate
        }
        defer { close(fd) }
        fchmod(fd, 0o600)
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress?.advanced(by: done), $0.count - done) }
            if n < 0, errno == EINTR { continue }
            guard n > 0 else {
                Terminal.error("cannot write \(path): \(String(cString: strerror(errno)))")
                throw AuditBackupCommand.ioError
            }
            done += n
        }
        guard fsync(fd) == 0 else {
            Terminal.error("cannot write \(path): \(String(cString: strerror(errno)))")
            throw AuditBackupCommand.ioError
        }
    }
}
