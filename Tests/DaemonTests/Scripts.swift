import Foundation

/// Small Python clients for what curl cannot do: many connections at once,
/// requests on one kept-alive connection, a reader that never reads.
enum Scripts {
    /// Opens `n` connections to a stream path and never reads past the
    /// status line; prints what came of them as one JSON line, then holds
    /// them open for `hold` seconds.
    static let idleStreams = #"""
        import json, socket, sys, time
        path, n, hold, target = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
        conns, failed = [], 0
        for i in range(n):
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                s.connect(path)
                s.sendall(("GET %s HTTP/1.1\r\nHost: pumpd\r\n\r\n" % target).encode())
                conns.append(s)
            except OSError:
                failed += 1
                s.close()
        time.sleep(1.5)
        counts = {"connected": len(conns), "connect_failed": failed, "ok": 0, "refused": 0, "closed": 0, "silent": 0}
        for s in conns:
            s.setblocking(False)
            try:
                head = s.recv(12)
            except BlockingIOError:
                counts["silent"] += 1
                continue
            except OSError:
                counts["closed"] += 1
                continue
            if not head:
                counts["closed"] += 1
            elif b" 200" in head:
                counts["ok"] += 1
            elif b" 429" in head or b" 503" in head:
                counts["refused"] += 1
            else:
                counts["silent"] += 1
        print(json.dumps(counts), flush=True)
        time.sleep(hold)
        """#

    /// Sends `n` copies of one request on one connection, `batch` at a time
    /// (pipelined), reading every answer; prints the status codes seen.
    static let pipelined = #"""
        import collections, json, socket, sys
        path, n, batch, request = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].encode()
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(path)
        f = s.makefile("rb")
        statuses = collections.Counter()
        done = 0
        while done < n:
            k = min(batch, n - done)
            s.sendall(request * k)
            for _ in range(k):
                status = f.readline().split(b" ")[1].decode()
                length = 0
                while True:
                    h = f.readline()
                    if h in (b"\r\n", b""):
                        break
                    if h.lower().startswith(b"content-length:"):
                        length = int(h.split(b":")[1])
                f.read(length)
                statuses[status] += 1
            done += k
        print(json.dumps(statuses), flush=True)
        """#

    /// Runs `script` with python3 (as `user` through setpriv when given);
    /// returns the process and a pipe its first output line arrives on.
    static func python(_ script: String, _ args: [String], user: (uid: Int, gid: Int)? = nil, folder: String) throws -> (Process, FileHandle) {
        let file = folder + "/script-\(UUID().uuidString.prefix(6)).py"
        FileManager.default.createFile(atPath: file, contents: Data(script.utf8), attributes: [.posixPermissions: 0o644])
        let p = Process()
        if let user {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
            p.arguments = ["--reuid=\(user.uid)", "--regid=\(user.gid)", "--clear-groups", "/usr/bin/python3", file] + args
        } else {
            p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            p.arguments = [file] + args
        }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try p.run()
        return (p, out.fileHandleForReading)
    }

    /// Ends a script now. SIGKILL: a child may inherit a mask that blocks
    /// SIGTERM from the test process's thread, and then sleep on.
    static func stop(_ p: Process) {
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
    }

    /// The first line `handle` gives, as JSON (waits for it).
    static func firstLine(_ handle: FileHandle) -> [String: Int] {
        var bytes: [UInt8] = []
        while !bytes.contains(0x0A) {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            bytes += chunk
        }
        let line = bytes.split(separator: 0x0A).first.map { Data($0) } ?? Data()
        return (try? JSONSerialization.jsonObject(with: line) as? [String: Int]) ?? [:]
    }
}
