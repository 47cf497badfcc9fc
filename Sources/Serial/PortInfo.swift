import CLibSerialPort
import Glibc

/// One serial port as the system describes it, for finding the PH-1 among them.
public struct PortInfo: Sendable, Equatable {
    public enum Transport: String, Sendable, Equatable {
        /// A UART on the machine itself (/dev/ttyS*, /dev/ttyAMA*).
        case native
        case usb
        case bluetooth
    }

    /// The device node, e.g. /dev/ttyACM0.
    public var path: String
    public var transport: Transport
    public var usbVendorID: UInt16?
    public var usbProductID: UInt16?
    /// The USB serial number string, when the device has one.
    public var serialNumber: String?
    public var manufacturer: String?
    public var product: String?
    /// libserialport's one-line description (the USB product name, or the tty name).
    public var description: String?
    /// A /dev/serial/by-id/ link to this port, which stays the same across
    /// replugging, unlike /dev/ttyACM<n>.
    public var stablePath: String?

    public init(
        path: String, transport: Transport, usbVendorID: UInt16? = nil, usbProductID: UInt16? = nil,
        serialNumber: String? = nil, manufacturer: String? = nil, product: String? = nil,
        description: String? = nil, stablePath: String? = nil
    ) {
        self.path = path
        self.transport = transport
        self.usbVendorID = usbVendorID
        self.usbProductID = usbProductID
        self.serialNumber = serialNumber
        self.manufacturer = manufacturer
        self.product = product
        self.description = description
        self.stablePath = stablePath
    }

    /// "1234:abcd", as lsusb writes it, for USB ports.
    public var usbID: String? {
        guard let vid = usbVendorID, let pid = usbProductID else { return nil }
        return Self.hex4(vid) + ":" + Self.hex4(pid)
    }

    /// A USB CDC-ACM port (/dev/ttyACM*), the kind the PH-1 is (ICD §1).
    public var isCDCACM: Bool {
        path.hasPrefix("/dev/ttyACM")
    }

    /// Four lower-case hex digits, as USB ids are written.
    public static func hex4(_ v: UInt16) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }
}

extension SerialPorts {
    /// The serial ports libserialport finds (sp_list_ports: /sys/class/tty,
    /// without virtual terminals and ptys), sorted by path, with their USB
    /// details and /dev/serial/by-id/ links. An empty list is an answer, not an error.
    public static func list() throws(SerialError) -> [PortInfo] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let result = sp_list_ports(&list)
        guard result == SP_OK, let list else { throw LibSerialPortBackend.failure("sp_list_ports", result) }
        defer { sp_free_port_list(list) }

        let aliases = stableAliases()
        var ports: [PortInfo] = []
        var i = 0
        while let port = list[i] {
            i += 1
            guard let name = sp_get_port_name(port) else { continue }
            let path = String(cString: name)
            var info = PortInfo(path: path, transport: .native)
            switch sp_get_port_transport(port) {
            case SP_TRANSPORT_USB: info.transport = .usb
            case SP_TRANSPORT_BLUETOOTH: info.transport = .bluetooth
            default: info.transport = .native
            }
            if info.transport == .usb {
                var vid: Int32 = 0, pid: Int32 = 0
                if sp_get_port_usb_vid_pid(port, &vid, &pid) == SP_OK {
                    info.usbVendorID = UInt16(truncatingIfNeeded: vid)
                    info.usbProductID = UInt16(truncatingIfNeeded: pid)
                }
                info.serialNumber = text(sp_get_port_usb_serial(port))
                info.manufacturer = text(sp_get_port_usb_manufacturer(port))
                info.product = text(sp_get_port_usb_product(port))
            }
            info.description = text(sp_get_port_description(port))
            info.stablePath = aliases[path]
            ports.append(info)
        }
        return ports.sorted { $0.path < $1.path }
    }

    /// libserialport's strings belong to the port structure: copied, never freed here.
    private static func text(_ p: UnsafeMutablePointer<CChar>?) -> String? {
        guard let p else { return nil }
        let s = String(cString: p).trimmingWhitespace
        return s.isEmpty ? nil : s
    }

    /// Device node → its /dev/serial/by-id/ link (udev makes them for USB serial devices).
    static func stableAliases(in directory: String = "/dev/serial/by-id") -> [String: String] {
        guard let dir = opendir(directory) else { return [:] }
        defer { closedir(dir) }
        var aliases: [String: String] = [:]
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name == "." || name == ".." { continue }
            let link = directory + "/" + name
            let target = resolve(link)
            if target != link { aliases[target] = link }
        }
        return aliases
    }
}

extension String {
    var trimmingWhitespace: String {
        var s = Substring(self)
        while let c = s.first, c.isWhitespace { s.removeFirst() }
        while let c = s.last, c.isWhitespace { s.removeLast() }
        return String(s)
    }
}
