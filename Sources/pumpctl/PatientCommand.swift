import API
import ArgumentParser
import Client
import JSON

/// `pumpctl patient`: who each implant belongs to, and what the pump cannot
/// know (its catheter, the implant date). For clinicians and nurses.
struct PatientCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "patient",
        abstract: "Patients' records: one per implant (clinicians and nurses only).",
        discussion: """
            A visit starts by confirming the patient whose record names the implant under the \
            programmer head (`pumpctl device` shows its serial). The catheter's volume is what \
            holds the old drug after a drug change: give Prometra's trimmed length, or the \
            implanted length and volume per cm, or the total volume.

              pumpctl patient add --name "Ada Example" --identifier MRN-0042 \\
                  --implant-serial IP40-0000007 --implant-date 2024-03-01 --pump-model IP-40 \\
                  --prometra-trimmed 15cm
              pumpctl patient add ... --catheter-length 95cm --catheter-volume-per-cm 0.0026mL/cm
              pumpctl patient list
              pumpctl patient show p1

            Names and identifiers never appear in pumpd's log; the record's id (p1) does.
            """,
        subcommands: [Add.self, List.self, Show.self]
    )

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add a patient's record for an implant.")
        @Option(help: ArgumentHelp("The patient's name.", valueName: "text")) var name: String
        @Option(help: ArgumentHelp("The clinic's identifier (medical record number).", valueName: "text")) var identifier: String
        @Option(help: ArgumentHelp("The implant's serial, as `pumpctl device` shows it.", valueName: "serial")) var implantSerial: String
        @Option(help: ArgumentHelp("The implant date, YYYY-MM-DD.", valueName: "date")) var implantDate: String?
        @Option(help: ArgumentHelp("The pump model, such as IP-40.", valueName: "text")) var pumpModel: String?
        @Option(name: .customLong("prometra-trimmed"), help: ArgumentHelp("Prometra's catheter: the length trimmed off its 110 cm, such as 15cm.", valueName: "length"))
        var prometraTrimmed: String?
        @Option(help: ArgumentHelp("The catheter's implanted length, such as 95cm.", valueName: "length")) var catheterLength: String?
        @Option(help: ArgumentHelp("Its volume per cm, such as 0.0026mL/cm.", valueName: "quantity")) var catheterVolumePerCm: String?
        @Option(help: ArgumentHelp("Or its total volume, such as 0.25mL.", valueName: "quantity")) var catheterVolume: String?
        @OptionGroup var daemon: DaemonOptions

        func validate() throws { _ = try catheter() }

        func catheter() throws -> JSONValue? {
            var c: JSONObject = [:]
            if let prometraTrimmed { c["prometra_trimmed_length"] = try QuantityOption.parse(prometraTrimmed, .length, option: "--prometra-trimmed").json }
            if let catheterLength { c["implanted_length"] = try QuantityOption.parse(catheterLength, .length, option: "--catheter-length").json }
            if let catheterVolumePerCm {
                c["volume_per_length"] = try QuantityOption.parse(catheterVolumePerCm, .volumePerLength, option: "--catheter-volume-per-cm").json
            }
            if let catheterVolume { c["total_volume"] = try QuantityOption.parse(catheterVolume, .volume, option: "--catheter-volume").json }
            return c.keys.isEmpty ? nil : .object(c)
        }

        func run() throws {
            var body: JSONObject = ["name": .string(name), "identifier": .string(identifier), "implant_serial": .string(implantSerial)]
            if let implantDate { body["implant_date"] = .string(implantDate) }
            if let pumpModel { body["pump_model"] = .string(pumpModel) }
            if let c = try catheter() { body["catheter"] = c }
            let pumpd = daemon.pumpd
            let response = try Pumpd.call { () throws(ClientError) in
                try pumpd.client.request("POST", "/v1/patients", body: Array(JSONValue.object(body).serialized.utf8))
            }
            let answer = try pumpd.check(response)
            if daemon.json { return pumpd.printVerbatim(response) }
            let p = answer.body["patient"]
            Terminal.line("added \(p?["id"]?.text ?? "?") for implant \(p?["implant_serial"]?.text ?? "?")")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the patients' records.")
        @OptionGroup var daemon: DaemonOptions

        func run() throws {
            let answer = try daemon.pumpd.get("/v1/patients")
            if daemon.json { return daemon.pumpd.printVerbatim(answer.response) }
            guard case .array(let all)? = answer.body["patients"], !all.isEmpty else {
                Terminal.line("no patients' records yet (add one with `pumpctl patient add`)")
                return
            }
            TextTable.print([["id", "name", "identifier", "implant", "catheter volume"]] + all.map { p in
                [
                    p["id"]?.text ?? "?", p["name"]?.text ?? "", p["identifier"]?.text ?? "", p["implant_serial"]?.text ?? "",
                    Show.quantity(p["catheter"]?["volume"]) ?? "not known",
                ]
            })
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a patient's record and drug history.")
        @Argument(help: ArgumentHelp("The record's id, such as p1.", valueName: "id")) var id: String
        @OptionGroup var daemon: DaemonOptions

        func validate() throws {
            guard id.utf8.count <= 20, id.utf8.allSatisfy({ (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw ValidationError("a patient's id is a letter and a number, such as p1")
            }
        }

        static func quantity(_ q: JSONValue?) -> String? {
            guard let v = q?["value"]?.text, let u = q?["unit"]?.text else { return nil }
            return "\(v) \(u)"
        }

        func run() throws {
            let answer = try daemon.pumpd.get("/v1/patients/\(id)")
            if daemon.json { return daemon.pumpd.printVerbatim(answer.response) }
            let p = answer.body["patient"] ?? .null
            let c = p["catheter"] ?? .null
            TextTable.print([
                ["id", p["id"]?.text ?? ""], ["name", p["name"]?.text ?? ""], ["identifier", p["identifier"]?.text ?? ""],
                ["implant", p["implant_serial"]?.text ?? ""], ["implanted", p["implant_date"]?.text ?? "not known"],
                ["pump model", p["pump_model"]?.text ?? "not known"],
                ["catheter", [Self.quantity(c["implanted_length"]), Self.quantity(c["volume_per_length"]).map { "× \($0)/cm" }].compactMap { $0 }.joined(separator: " ")],
                ["catheter volume", Self.quantity(c["volume"]) ?? "not known"],
                ["changed", "\(p["updated"]?.text ?? "") by \(p["changed_by"]?.text ?? "")"],
            ])
            if case .array(let refills)? = p["drug_history"], !refills.isEmpty {
                Terminal.line("")
                TextTable.print([["refilled", "drug", "concentration", "reservoir", "command", "by"]] + refills.map { r in
                    [
                        r["at"]?.text ?? "", r["drug"]?.text ?? "", Self.quantity(r["concentration"]) ?? "", Self.quantity(r["reservoir"]) ?? "",
                        r["command_id"]?.text ?? "", r["by"]?.text ?? "",
                    ]
                })
            }
        }
    }
}
