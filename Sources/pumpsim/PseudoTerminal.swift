import CPosixExtras
import Glibc

/// The device end of a pseudo-terminal pair, with a symlink at the path the
/// host opens. The simulator keeps the slave end open too: without a reader
/// on that side, Linux reports hang-up on the master and poll(2) would spin
/// while no host is attached.
struct PseudoTerminal {
    let master: Int32
    let slaveHolder: Int32
    let slavePath: String
    let link: String

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static func create(link: String) throws -> PseudoTerminal {
        var name = [CChar](repeating: 0, count: 128)
        let master = pty_open_master(&name, name.count)
        guard master >= 0 else { throw Failure(description: "cannot open a pseudo-terminal: \(String(cString: strerror(errno)))") }
        let slavePath = String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let holder = open(slavePath, O_RDWR | O_NOCTTY)
        guard holder >= 0 else {
            close(master)
            throw Failure(description: "cannot open \(slavePath): \(String(cString: strerror(errno)))")
        }
        // Raw on both sides: no echo, no line discipline, 8-bit clean.
        var t = termios()
        tcgetattr(holder, &t)
        cfmakeraw(&t)
        tcsetattr(holder, TCSANOW, &t)
        let flags = fcntl(master, F_GETFL)
        _ = fcntl(master, F_SETFL, flags | O_NONBLOCK)

        unlink(link)
        guard symlink(slavePath, link) == 0 else {
            close(holder)
            close(master)
            throw Failure(description: "cannot create the link \(link) -> \(slavePath): \(String(cString: strerror(errno)))")
        }
        return PseudoTerminal(master: master, slaveHolder: holder, slavePath: slavePath, link: link)
    }

    /// Unplugs: the link and both ends go, so the host's reads fail (EIO/hang-up).
    func destroy() {
        unlink(link)
        close(slaveHolder)
        close(master)
    }
}
