import CTermios2
import Glibc

/// ICD rates as termios speed constants, and the termios side of `LineSettings`.
extension Baud {
    /// The `Bnnn` constant for cfsetispeed(3)/cfsetospeed(3).
    var speed: speed_t {
        switch self {
        case .b9600: speed_t(B9600)
        case .b19200: speed_t(B19200)
        case .b38400: speed_t(B38400)
        case .b57600: speed_t(B57600)
        case .b115200: speed_t(B115200)
        case .b230400: speed_t(B230400)
        case .b460800: speed_t(B460800)
        case .b921600: speed_t(B921600)
        }
    }

    init?(speed: speed_t) {
        guard let baud = Baud.allCases.first(where: { $0.speed == speed }) else { return nil }
        self = baud
    }
}

extension LineSettings {
    /// The settings of the terminal `fd` (tcgetattr), with its rates from TCGETS2
    /// where the kernel has it (it also reports rates set as BOTHER + number).
    init(fd: Int32) throws(SerialError) {
        var t = termios()
        guard tcgetattr(fd, &t) == 0 else { throw .system(call: "tcgetattr", errno: errno) }
        self.init(t)
        var input: UInt32 = 0, output: UInt32 = 0
        if ctermios2_speeds(fd, &input, &output) == 0 {
            inputBaud = Baud(rawValue: Int(input))
            outputBaud = Baud(rawValue: Int(output))
        }
    }

    init(_ t: termios) {
        var t = t
        let c = t.c_cflag, i = t.c_iflag, l = t.c_lflag, o = t.c_oflag
        let size = c & tcflag_t(CSIZE)
        dataBits = size == tcflag_t(CS5) ? 5 : size == tcflag_t(CS6) ? 6 : size == tcflag_t(CS7) ? 7 : 8
        parity = c & tcflag_t(PARENB) != 0
        stopBits = c & tcflag_t(CSTOPB) != 0 ? 2 : 1
        hardwareFlowControl = c & tcflag_t(CRTSCTS) != 0
        softwareFlowControl = i & tcflag_t(IXON | IXOFF) != 0
        localAndReceiverOn = c & tcflag_t(CLOCAL | CREAD) == tcflag_t(CLOCAL | CREAD)
        raw = l & tcflag_t(ICANON | ECHO | ISIG | IEXTEN) == 0 && o & tcflag_t(OPOST) == 0
        outputBaud = Baud(speed: cfgetospeed(&t))
        inputBaud = Baud(speed: cfgetispeed(&t))
    }
}

/// Raw 8N1, no flow control, receiver on, modem lines ignored, reads that
/// never wait in the kernel (VMIN = VTIME = 0: poll(2) does the waiting).
func makePPL1(_ t: inout termios, baud: Baud) {
    cfmakeraw(&t)
    t.c_cflag &= ~tcflag_t(CSIZE | PARENB | CSTOPB)
    t.c_cflag &= ~tcflag_t(CRTSCTS)
    t.c_cflag |= tcflag_t(CS8 | CLOCAL | CREAD)
    t.c_iflag &= ~tcflag_t(IXON | IXOFF | IXANY)
    withUnsafeMutableBytes(of: &t.c_cc) { cc in
        cc[Int(VMIN)] = 0
        cc[Int(VTIME)] = 0
    }
    cfsetispeed(&t, baud.speed)
    cfsetospeed(&t, baud.speed)
}
