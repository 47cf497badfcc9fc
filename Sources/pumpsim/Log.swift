import Glibc

/// Log lines on standard error: time, level, message, then key=value pairs.
enum Log {
    static func line(_ level: String, _ message: String, _ fields: KeyValuePairs<String, String> = [:]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var tm = tm()
        var secs = ts.tv_sec
        gmtime_r(&secs, &tm)
        var buf = [CChar](repeating: 0, count: 32)
        let len = strftime(&buf, buf.count, "%Y-%m-%dT%H:%M:%S", &tm)
        let stamp = String(decoding: buf[0..<len].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let millis = String(Int(ts.tv_nsec) / 1_000_000)
        var text = "\(stamp).\(String(repeating: "0", count: 3 - millis.count))\(millis)Z pumpsim \(level) \(message)"
        for (k, v) in fields { text += " \(k)=\(v)" }
        text += "\n"
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }

    static func info(_ m: String, _ f: KeyValuePairs<String, String> = [:]) { line("info", m, f) }
    static func warning(_ m: String, _ f: KeyValuePairs<String, String> = [:]) { line("warning", m, f) }
    static func error(_ m: String, _ f: KeyValuePairs<String, String> = [:]) { line("error", m, f) }
}
