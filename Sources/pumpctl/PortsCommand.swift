import ArgumentParser
import JSON
import Serial

struct PortsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ports",
        abstract: "List the serial ports on this machine, to find the PH-1 among them.",
        discussion: """
            Lists every serial port the system knows (virtual consoles and pseudo-terminals \
            left out) with what its USB descriptor says: vendor and product id (VID:PID, as \
            lsusb prints them), serial number, manufacturer and description.

            How to recognise the PH-1: it is a USB CDC-ACM port, so on Linux its path is \
            /dev/ttyACM0, /dev/ttyACM1, …, and KIND says "USB CDC-ACM"; its manufacturer \
            and description come from the head itself. With several such ports, unplug the \
            PH-1, run `pumpctl ports` again, and see which line went away. The number in \
            /dev/ttyACM<n> can change when the head is replugged; a /dev/serial/by-id/ link, \
            listed under the table when udev made one, stays the same: use that in scripts \
            and configuration.

            If the PH-1 is plugged in but not listed, `dmesg` shows whether the cdc_acm \
            driver took it. If it is listed but cannot be opened, add yourself to the dialout \
            group (sudo usermod -aG dialout "$USER", then log in again).

            With --json the output is one JSON array, one object per port, with the keys \
            path, kind ("usb-cdc-acm", "usb-serial", "native", "bluetooth"), usb_vid and \
            usb_pid (4 hex digits), serial, manufacturer, product, description and by_id; \
            a key without a value is null. No ports prints [].

              pumpctl ports
              pumpctl ports --json | jq -r '.[] | select(.kind == "usb-cdc-acm") | .path'

            Exit codes: 0 the list, even an empty one; 71 the system's list of ports could \
            not be read.
            """
    )

    @Flag(name: .long, help: "Print a JSON array instead of a table.")
    var json = false

    func run() throws {
        let ports: [PortInfo]
        do {
            ports = try SerialPorts.list()
        } catch {
            Terminal.error("cannot list serial ports: \(error)")
            throw Exit.osError
        }
        if json {
            printJSON(ports)
        } else {
            printTable(ports)
        }
    }

    func printJSON(_ ports: [PortInfo]) {
        guard !ports.isEmpty else { return Terminal.line("[]") }
        Terminal.line("[")
        for (i, port) in ports.enumerated() {
            Terminal.line(Self.json(port).serialized + (i < ports.count - 1 ? "," : ""))
        }
        Terminal.line("]")
    }

    static func json(_ port: PortInfo) -> JSONValue {
        func text(_ s: String?) -> JSONValue { s.map(JSONValue.string) ?? .null }
        let object: JSONObject = [
            "path": .string(port.path),
            "kind": .string(kind(port).key),
            "usb_vid": text(port.usbVendorID.map(PortInfo.hex4)),
            "usb_pid": text(port.usbProductID.map(PortInfo.hex4)),
            "serial": text(port.serialNumber),
            "manufacturer": text(port.manufacturer),
            "product": text(port.product),
            "description": text(port.description),
            "by_id": text(port.stablePath),
        ]
        return .object(object)
    }

    func printTable(_ ports: [PortInfo]) {
        guard !ports.isEmpty else {
            Terminal.line("No serial ports found.")
            Terminal.line("Plug in the PH-1: it appears as a USB CDC-ACM port, /dev/ttyACM0 or similar.")
            Terminal.line("If it is plugged in, `dmesg` tells whether the cdc_acm driver took it.")
            return
        }
        let header = ["PORT", "KIND", "USB ID", "SERIAL", "MANUFACTURER", "DESCRIPTION"]
        let rows = ports.map { port in
            [
                port.path, Self.kind(port).label, port.usbID ?? "-", port.serialNumber ?? "-",
                port.manufacturer ?? "-", port.description ?? "-",
            ]
        }
        for line in Self.table([header] + rows) { Terminal.line(line) }

        let aliases = ports.compactMap { port in port.stablePath.map { "  \($0) -> \(port.path)" } }
        if !aliases.isEmpty {
            Terminal.line("")
            Terminal.line("Stable paths (the same after replugging):")
            for alias in aliases { Terminal.line(alias) }
        }
        Terminal.line("")
        let acm = ports.filter(\.isCDCACM).count
        switch acm {
        case 0:
            Terminal.line("No USB CDC-ACM port (/dev/ttyACM*): the PH-1 is not plugged in, or not recognised (see `dmesg`).")
        case 1:
            Terminal.line("One USB CDC-ACM port: the PH-1, unless another device of that kind is plugged in (unplug the head and run again to be sure).")
        default:
            Terminal.line("The PH-1 is one of the USB CDC-ACM ports above: unplug it and run again to see which.")
        }
    }

    /// Columns padded to their widest cell, two spaces apart; the last column is not padded.
    static func table(_ rows: [[String]]) -> [String] {
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            row.enumerated().map { column, cell in
                column == row.count - 1 ? cell : cell + String(repeating: " ", count: widths[column] - cell.count)
            }.joined(separator: "  ")
        }
    }

    static func kind(_ port: PortInfo) -> (key: String, label: String) {
        switch port.transport {
        case .usb where port.isCDCACM: ("usb-cdc-acm", "USB CDC-ACM")
        case .usb: ("usb-serial", "USB serial")
        case .bluetooth: ("bluetooth", "Bluetooth")
        case .native: ("native", "built-in")
        }
    }
}
