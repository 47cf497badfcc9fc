import Foundation
@testable import Serial
import Testing

@Suite("port discovery and the ICD's rates")
struct DiscoveryTests {
    @Test("SerialPorts.list() runs; whatever it finds is a device node and never a pty")
    func list() throws {
        let pty = try Pty()  // one pty at least exists while listing, and must not be listed
        let ports = try SerialPorts.list()
        for port in ports {
            #expect(port.path.hasPrefix("/dev/"))
            #expect(!port.path.hasPrefix("/dev/pts/"))
            if port.transport != .usb { #expect(port.usbID == nil) }
        }
        #expect(!ports.contains { $0.path == pty.slavePath })
        #expect(ports.map(\.path) == ports.map(\.path).sorted())
    }

    @Test("USB ids print as lsusb does; ttyACM is what the PH-1 looks like")
    func portInfo() {
        let ph1 = PortInfo(path: "/dev/ttyACM0", transport: .usb, usbVendorID: 0x0483, usbProductID: 0x5740)
        #expect(ph1.usbID == "0483:5740")
        #expect(ph1.isCDCACM)
        #expect(!PortInfo(path: "/dev/ttyUSB0", transport: .usb).isCDCACM)
        #expect(PortInfo(path: "/dev/ttyS0", transport: .native).usbID == nil)
    }

    @Test("/dev/serial/by-id links map back to their device nodes")
    func stableAliases() throws {
        let pty = try Pty()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        #expect(symlink(pty.slavePath, dir + "/usb-Acme_PH-1_0001-if00") == 0)
        #expect(SerialPorts.stableAliases(in: dir) == [pty.slavePath: dir + "/usb-Acme_PH-1_0001-if00"])
        #expect(SerialPorts.stableAliases(in: dir + "/missing").isEmpty)
    }

    @Test("Baud holds exactly ICD §1's rates, 115200 by default")
    func rates() throws {
        #expect(Baud.allCases.map(\.rawValue) == [9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600])
        #expect(Baud.default == .b115200)
        #expect(try Baud(validating: 57600) == .b57600)
        #expect(throws: SerialError.unsupportedBaud(115201)) { try Baud(validating: 115201) }
        #expect(SerialError.unsupportedBaud(4800).description.contains("9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600"))
    }

    @Test("errors say what to do")
    func advice() {
        #expect(SerialError.opening("/dev/ttyACM0", errno: EACCES) == .permissionDenied(path: "/dev/ttyACM0"))
        #expect(SerialError.permissionDenied(path: "/dev/ttyACM0").description.contains("dialout"))
        #expect(SerialError.opening("/dev/ttyACM0", errno: EBUSY) == .busy(path: "/dev/ttyACM0", holders: []))
        #expect(SerialError.opening("/dev/ttyACM0", errno: ENOENT) == .notFound(path: "/dev/ttyACM0"))
        #expect(SerialError.busy(path: "/dev/ttyACM0", holders: []).description.contains("another program"))
    }
}
