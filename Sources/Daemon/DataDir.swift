import Foundation
import Glibc

/// The data dir holds the audit trail, the log, the lock and the simulator's
/// state. pumpd often runs as root: if anyone else could write into the data
/// dir, or replace it through a folder above it, they could put a symbolic
/// link where pumpd opens a file (pumpd.log → /etc/shadow) and pumpd would
/// write through it. So the data dir must be pumpd's own and writable by
/// nobody else, the folders above it must not let another user swap it out,
/// and pumpd follows no link inside it.
///
/// What is checked, on the data dir's real path (links above it resolved):
/// - the data dir: a directory owned by pumpd's euid, not writable by group or others;
/// - each folder above it up to /: owned by root or by pumpd's euid, and not
///   writable by group or others unless it has the sticky bit (as /tmp has:
///   others may then add their own entries but not rename or remove ours).
/// ACLs and the mounts' own options are not looked at.
enum DataDir {
    struct Unsafe: Error, CustomStringConvertible {
        var description: String
    }

    /// The data dir's real path, once it and the folders above it are safe.
    static func check(_ path: String, euid: uid_t = geteuid()) throws(Unsafe) -> String {
        guard let resolved = realpath(path, nil) else {
            throw Unsafe(description: "cannot resolve the data dir \(path): \(String(cString: strerror(errno)))")
        }
        let real = String(cString: resolved)
        free(resolved)
        let st = try status(real)
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw Unsafe(description: "the data dir \(real) is not a directory; pass --data-dir with a folder for pumpd")
        }
        guard st.st_uid == euid else {
            throw Unsafe(description: "the data dir \(real) belongs to uid \(st.st_uid), not to pumpd's user (uid \(euid)): whoever owns it can put links to other files in it. Run `chown \(euid) \(real)`, or run pumpd as its owner")
        }
        guard st.st_mode & 0o022 == 0 else {
            throw Unsafe(description: "the data dir \(real) is writable by \(writers(st.st_mode)) (mode \(octal(st.st_mode))): anyone who can write there can put links to other files where pumpd writes. Run `chmod go-w \(real)` (pumpd creates it 0750)")
        }
        var folder = real
        while folder != "/" {
            folder = parent(folder)
            let above = try status(folder)
            guard above.st_uid == 0 || above.st_uid == euid else {
                throw Unsafe(description: "the folder \(folder) above the data dir \(real) belongs to uid \(above.st_uid), neither root nor pumpd's user (uid \(euid)): that user could replace the data dir. Choose a data dir elsewhere (such as /var/lib/pumpd), or `chown \(euid) \(folder)`")
            }
            guard above.st_mode & 0o022 == 0 || above.st_mode & S_ISVTX != 0 else {
                throw Unsafe(description: "the folder \(folder) above the data dir \(real) is writable by \(writers(above.st_mode)) without the sticky bit (mode \(octal(above.st_mode))): they could replace the data dir. Run `chmod go-w \(folder)`, or choose a data dir elsewhere")
            }
        }
        return real
    }

    /// Opens (or creates) a file in the data dir, never through a link and
    /// only if it is a regular file. The descriptor is close-on-exec.
    static func open(_ path: String, flags: Int32, mode: mode_t = 0o640) throws(Unsafe) -> Int32 {
        // O_NONBLOCK: a FIFO planted at the path must not hang the open; it is refused below.
        let fd = Glibc.open(path, flags | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK, mode)
        guard fd >= 0 else {
            if errno == ELOOP { throw linked(path) }
            throw Unsafe(description: "cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            throw Unsafe(description: "\(path) is not a regular file; pumpd keeps only its own files in its data dir: remove it")
        }
        // Back to blocking I/O for the caller.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    /// Each path that exists must be a regular file: for files another library
    /// opens (SQLite's database, -wal, -shm and -journal), checked before it does.
    static func refuseOddFiles(_ paths: [String]) throws(Unsafe) {
        for path in paths {
            var st = stat()
            guard lstat(path, &st) == 0 else {
                if errno == ENOENT { continue }
                throw Unsafe(description: "cannot look at \(path): \(String(cString: strerror(errno)))")
            }
            if st.st_mode & S_IFMT == S_IFLNK { throw linked(path) }
            guard st.st_mode & S_IFMT == S_IFREG else {
                throw Unsafe(description: "\(path) is not a regular file; pumpd keeps only its own files in its data dir: remove it")
            }
        }
    }

    /// A folder pumpd keeps inside the data dir (simulator, captures): created
    /// if missing and `create`, and refused if it is a link or anything but a directory.
    static func folder(_ path: String, create: Bool) throws(Unsafe) {
        if create, mkdir(path, 0o750) != 0, errno != EEXIST {
            throw Unsafe(description: "cannot create \(path): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if !create, errno == ENOENT { return }
            throw Unsafe(description: "cannot look at \(path): \(String(cString: strerror(errno)))")
        }
        if st.st_mode & S_IFMT == S_IFLNK { throw linked(path) }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw Unsafe(description: "\(path) is not a directory; pumpd keeps its own folder there: remove it")
        }
    }

    static func linked(_ path: String) -> Unsafe {
        Unsafe(description: "\(path) is a symbolic link\(linkTarget(path)); pumpd follows no link in its data dir, so that nothing it writes lands elsewhere. Remove the link (`rm \(path)`); pumpd creates its own file")
    }

    /// " (to TARGET)" for a link, for messages.
    static func linkTarget(_ path: String) -> String {
        var target = [UInt8](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = target.withUnsafeMutableBufferPointer { buf in
            buf.baseAddress.map { readlink(path, UnsafeMutableRawPointer($0).assumingMemoryBound(to: CChar.self), buf.count - 1) } ?? -1
        }
        return n > 0 ? " (to \(String(decoding: target[..<n], as: UTF8.self)))" : ""
    }

    static func status(_ path: String) throws(Unsafe) -> stat {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw Unsafe(description: "cannot look at \(path): \(String(cString: strerror(errno)))")
        }
        return st
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.utf8.lastIndex(of: UInt8(ascii: "/")), slash != path.utf8.startIndex else { return "/" }
        return String(path[..<slash])
    }

    static func writers(_ mode: mode_t) -> String {
        switch (mode & 0o020 != 0, mode & 0o002 != 0) {
        case (true, true): "its group and others"
        case (true, false): "its group"
        default: "others"
        }
    }

    static func octal(_ mode: mode_t) -> String {
        let s = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - s.count)) + s
    }
}
