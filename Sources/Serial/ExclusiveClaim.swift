import Glibc

/// Who else has a port open: a process id and its name (from /proc).
public struct PortHolder: Sendable, Equatable, CustomStringConvertible {
    public var pid: Int32
    public var command: String
    public var description: String { "\(command) (pid \(pid))" }
}

/// One program on the PH-1's port at a time. A second writer in the middle of
/// a session (another pumpd, a terminal program, ModemManager probing a new
/// ttyACM device with AT commands) corrupts frames or answers the device's
/// challenge out of turn; so the port is claimed before anything is sent.
///
/// Two locks, because each alone has a gap: flock(2) is advisory (it stops
/// another pumpd, and tools that lock, but not a plain open), and TIOCEXCL
/// makes the kernel refuse any further open(2) of the tty with EBUSY — except
/// to root (CAP_SYS_ADMIN), which flock still stops when it cooperates.
/// TIOCEXCL is for real ports only: a pseudo-terminal's other end is held by
/// its simulator by design, and the flag would outlive a crashed pumpd there
/// (the tty is never finally closed), refusing the pumpd that restarts.
enum ExclusiveClaim {
    /// Takes the port behind `fd`; throws `.busy` naming who holds it.
    static func claim(fd: Int32, path: String, devicePath: String, kernelExclusive: Bool) throws(SerialError) {
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let code = errno
            if code == EWOULDBLOCK {
                let lockers = lockHolders(of: devicePath)
                throw .busy(path: path, holders: lockers.isEmpty ? holders(of: devicePath) : lockers)
            }
            throw .system(call: "flock(\(path))", errno: code)
        }
        if kernelExclusive, ioctl(fd, UInt(TIOCEXCL)) != 0 {
            throw .system(call: "ioctl(\(path), TIOCEXCL)", errno: errno)
        }
    }

    /// Lets the tty be opened again by others once this process closes it
    /// (the kernel keeps TIOCEXCL until the last descriptor of the tty closes).
    static func release(fd: Int32) {
        _ = ioctl(fd, UInt(TIOCNXCL))
    }

    /// The other processes with the device node open, as far as this process
    /// may look (/proc/PID/fd of another user's process is closed to it).
    static func holders(of devicePath: String) -> [PortHolder] {
        var device = stat()
        guard stat(devicePath, &device) == 0, (device.st_mode & S_IFMT) == S_IFCHR else { return [] }
        let me = getpid()
        guard let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        var found: [PortHolder] = []
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(name), pid != me, holds(pid: pid, rdev: device.st_rdev) else { continue }
            found.append(PortHolder(pid: pid, command: command(of: pid)))
            if found.count == 8 { break }  // enough to say who; a message, not an inventory
        }
        return found.sorted { $0.pid < $1.pid }
    }

    /// The processes holding a flock(2) on the device node, from /proc/locks
    /// ("1: FLOCK  ADVISORY  WRITE 1234 00:05:87 0 EOF": pid, then the
    /// node's filesystem device as hex major:minor and its inode), which
    /// names the locker exactly where /proc/PID/fd names every opener.
    static func lockHolders(of devicePath: String) -> [PortHolder] {
        var node = stat()
        guard stat(devicePath, &node) == 0, let f = fopen("/proc/locks", "r") else { return [] }
        defer { fclose(f) }
        let wanted = "\(hex2(major(node.st_dev))):\(hex2(minor(node.st_dev))):\(node.st_ino)"
        var found: [PortHolder] = []
        var line = [CChar](repeating: 0, count: 512)
        while fgets(&line, Int32(line.count), f) != nil {
            let text = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            let fields = text.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", fields[5] == wanted, let pid = Int32(fields[4]), pid != getpid() else { continue }
            found.append(PortHolder(pid: pid, command: command(of: pid)))
        }
        return found
    }

    private static func holds(pid: Int32, rdev: dev_t) -> Bool {
        let folder = "/proc/\(pid)/fd"
        guard let fds = opendir(folder) else { return false }
        defer { closedir(fds) }
        while let entry = readdir(fds) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.first?.isNumber == true else { continue }
            var s = stat()
            if stat(folder + "/" + name, &s) == 0, (s.st_mode & S_IFMT) == S_IFCHR, s.st_rdev == rdev { return true }
        }
        return false
    }

    /// Hex with at least two digits, as /proc/locks prints a device number.
    private static func hex2(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return digits.count < 2 ? "0" + digits : digits
    }

    // glibc's major()/minor() are macros Swift cannot import; their encoding.
    private static func major(_ dev: dev_t) -> UInt64 { ((UInt64(dev) >> 8) & 0xfff) | ((UInt64(dev) >> 32) & ~0xfff) }
    private static func minor(_ dev: dev_t) -> UInt64 { (UInt64(dev) & 0xff) | ((UInt64(dev) >> 12) & ~0xff) }

    private static func command(of pid: Int32) -> String {
        guard let f = fopen("/proc/\(pid)/comm", "r") else { return "?" }
        defer { fclose(f) }
        var buffer = [CChar](repeating: 0, count: 64)
        guard fgets(&buffer, Int32(buffer.count), f) != nil else { return "?" }
        var text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        while text.last == "\n" { text.removeLast() }
        return text
    }
}

