import Foundation
import Testing

/// `pumpctl ports` run as a process. This machine may have no serial port at
/// all, so the tests check the shape of the answer, whatever the list holds.
@Suite("pumpctl ports")
struct PortsCommandTests {
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("pumpctl")

    func pumpctl(_ args: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        let p = Process()
        p.executableURL = Self.binary
        p.arguments = args
        let output = Pipe(), error = Pipe()
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = output
        p.standardError = error
        try p.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = error.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self), String(decoding: err, as: UTF8.self))
    }

    static let keys: Set<String> = ["path", "kind", "usb_vid", "usb_pid", "serial", "manufacturer", "product", "description", "by_id"]

    @Test("--json prints a JSON array of ports with exactly the documented keys")
    func json() throws {
        let r = try pumpctl(["ports", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.isEmpty)
        let parsed = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8))
        let ports = try #require(parsed as? [[String: Any]])
        for port in ports {
            #expect(Set(port.keys) == Self.keys)
            let path = try #require(port["path"] as? String)
            #expect(path.hasPrefix("/dev/"))
            #expect(["usb-cdc-acm", "usb-serial", "native", "bluetooth"].contains(port["kind"] as? String))
        }
    }

    @Test("the table has a header, or says plainly that there are no ports, and always says how to spot the PH-1")
    func table() throws {
        let r = try pumpctl(["ports"])
        #expect(r.status == 0, "\(r.stderr)")
        let lines = r.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.first == "No serial ports found." {
            #expect(r.stdout.contains("/dev/ttyACM0"))
        } else {
            let header = try #require(lines.first)
            #expect(header.hasPrefix("PORT"))
            for column in ["KIND", "USB ID", "SERIAL", "MANUFACTURER", "DESCRIPTION"] { #expect(header.contains(column)) }
            #expect(r.stdout.contains("CDC-ACM"))
        }
    }

    @Test("--help teaches how to recognise the PH-1")
    func help() throws {
        let r = try pumpctl(["ports", "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("/dev/ttyACM"))
        #expect(r.stdout.contains("CDC-ACM"))
        #expect(r.stdout.contains("dialout"))
    }
}
