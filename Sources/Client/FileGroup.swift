import Glibc

/// What stat(2) says about the socket file, for error messages: a refused
/// user is told which group to ask for, not "Permission denied".
enum FileGroup {
    static func name(of path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        var group = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getgrgid_r(st.st_gid, &group, &buffer, buffer.count, &result) == 0, let found = result else {
            return String(st.st_gid)
        }
        return String(cString: found.pointee.gr_name)
    }

    static func isSocket(_ path: String) -> Bool {
        var st = stat()
        guard stat(path, &st) == 0 else { return false }
        return st.st_mode & S_IFMT == S_IFSOCK
    }

    static func folder(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
