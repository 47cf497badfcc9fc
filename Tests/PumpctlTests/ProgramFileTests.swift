import Foundation
import Glibc
import JSON
import ProgramFiles
import Testing

/// Program files as text: YAML anchors and aliases refused on the events,
/// before anything is expanded ("billion laughs" once took pumpctl to 1 GB),
/// depth and size bounded, and no text traps the parser.
@Suite("program files")
struct ProgramFileTests {
    /// Nine levels of nine aliases: 9⁹ ≈ 387 million strings once expanded.
    static let billionLaughs = """
        lol: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
        mode: continuous
        steps: *i

        """

    func problem(_ text: String, yaml: Bool = true) -> String? {
        do throws(ProgramText.Problem) {
            _ = try ProgramText.program(text, yaml: yaml)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aliasesAndAnchorsAreRefusedBeforeAnythingIsBuilt() throws {
        let start = ContinuousClock.now
        let laughs = try #require(problem(Self.billionLaughs))
        #expect(ContinuousClock.now - start < .milliseconds(100))
        #expect(laughs.contains("line 1"), "\(laughs)")
        #expect(laughs.contains("anchors (&name) and aliases (*name) are not accepted"), "\(laughs)")
        // An alias with no anchor, an anchor with no alias, and a merge key.
        #expect(problem("mode: *m\n")?.contains("aliases (*name) are not accepted") == true)
        #expect(problem("mode: &m continuous\n")?.contains("anchors (&name)") == true)
        #expect(problem("base: &b {start_min: 0}\nsteps:\n  - <<: *b\n")?.contains("anchors") == true)
        // '&' and '*' inside a value are text, not YAML's.
        let text = try ProgramText.program("mode: continuous\nnote: \"a & b * c\"\nplain: a*b&c\n", yaml: true)
        #expect(text["note"] == .string("a & b * c"))
        #expect(text["plain"] == .string("a*b&c"))
    }

    /// Yams sorts a mapping's duplicated keys to name them, and comparing two
    /// keys that start alike compares the alike part twice per level (a < b,
    /// then b < a): two such keys 20 levels deep, each given twice, take 2²⁰
    /// comparisons (FuzzProgramFile timed out on such an input in CI).
    @Test func keysThatAreCollectionsAreRefusedBeforeYamsSortsThem() {
        func nestedMapping(_ depth: Int) -> String { depth == 0 ? "a" : "{\(nestedMapping(depth - 1)): 1}" }
        func nestedList(_ depth: Int) -> String { depth == 0 ? "a" : "[\(nestedList(depth - 1))]" }
        for (a, b) in [("{\(nestedMapping(20)): 1, x: 1}", "{\(nestedMapping(20)): 1, y: 1}"), ("[\(nestedList(20)), x]", "[\(nestedList(20)), y]")] {
            let text = "{\(a): 1, \(a): 2, \(b): 3, \(b): 4}\n"
            let start = ContinuousClock.now
            let refusal = problem(text)
            #expect(ContinuousClock.now - start < .milliseconds(100))
            #expect(refusal?.contains("line 1: a mapping key is a list or a mapping; keys must be plain names") == true, "\(refusal ?? "accepted")")
        }
        // Block style, a key given with "? ", and a list as a key.
        #expect(problem("mode: continuous\n? {a: 1}\n: 2\n")?.contains("line 2: a mapping key is a list or a mapping") == true)
        #expect(problem("steps:\n  - ? [1, 2]\n    : 3\n")?.contains("line 2: a mapping key is a list or a mapping") == true)
        // Collections as values, and keys after them, are still read.
        let program = try? ProgramText.program("mode: daily\nsteps:\n  - {start_min: 0, rate: {value: \"2.4\", unit: mg/day}}\nnote: x\n", yaml: true)
        #expect(program?["note"] == .string("x"))
        guard case .array(let steps) = program?["steps"] else { Issue.record("no steps in \(String(describing: program))"); return }
        #expect(steps.first?["start_min"] == .int(0))
    }

    @Test func depthAndSizeAreBounded() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(problem(deep)?.contains("line 1: nested deeper than 32 levels") == true, "\(problem(deep) ?? "accepted")")
        // libyaml stops at 1,000 levels by itself; deeper still is refused, not recursed into.
        let deeper = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(problem(deeper)?.contains("nesting level") == true, "\(problem(deeper) ?? "accepted")")
        let deepBlock = (0..<40).map { String(repeating: "  ", count: $0) + "k\($0):" }.joined(separator: "\n") + " 1\n"
        #expect(problem(deepBlock)?.contains("nested deeper") == true)
        let wide = "steps: [" + Array(repeating: "0", count: 20_000).joined(separator: ", ") + "]\n"
        #expect(problem(wide)?.contains("more than 10000 values") == true)
    }

    @Test func programsStillRead() throws {
        let yaml = try ProgramText.program("mode: daily\nsteps:\n  - start_min: 0\n    rate: {value: \"2.4\", unit: mg/day}\n", yaml: true)
        #expect(yaml.serialized == #"{"mode":"daily","steps":[{"start_min":0,"rate":{"value":"2.4","unit":"mg/day"}}]}"#)
        let json = try ProgramText.program(#"{"program": {"mode": "daily", "program_crc": 5, "steps": []}}"#, yaml: false)
        #expect(json.serialized == #"{"mode":"daily","steps":[]}"#)
        #expect(ProgramText.isYAML(path: "p.yml", text: "{}"))
        #expect(!ProgramText.isYAML(path: "p", text: " \n{}"))
        #expect(problem("mode: daily\noverrides: []\n")?.contains("--override") == true)
        #expect(problem("rate: {value: 2.4, unit: mg/day}\n")?.contains("quoted decimal strings") == true)
    }

    /// Odd texts are refused or read, never trapped on.
    @Test func oddTextsAreHandled() {
        let odd = [
            "", " ", "\n\n", "---", "--- \n...\n", "a: 1\n---\nb: 2\n", "\t- x", "? [a, b]\n: c\n", "!!binary aGk=", "{a: 1, a: 2}",
            "a: !custom x", "%YAML 1.1\n---\na: 1", "a: |\n  *x &y\n", "\"\\u0000\"", "a: 0x10", "a: 1_000", "a: .inf", "a: yes",
            "- - - - -", "[", "{", "'", "\"", ":", "- ? : -", "a: 99999999999999999999", "\u{FEFF}a: 1", String(repeating: "\u{301}", count: 1000),
            "k: \"" + String(repeating: "\u{301}", count: 5000) + "\"",
        ]
        for text in odd {
            _ = problem(text)
            _ = problem(text, yaml: false)
        }
        #expect(problem("a: 0x10")?.contains("plain decimal whole number") == true)
        #expect(problem("{a: 1, a: 2}") != nil)
    }

    /// libyaml reads YAML 1.1, which folds NEL, LINE SEPARATOR and PARAGRAPH
    /// SEPARATOR inside a quoted string into a space where JSON keeps them, so
    /// one file meant two things by its name (found by FuzzProgramFile:
    /// `"…04\u{85}:…"` read as "…04 :…"). Refused in YAML, with the line.
    @Test(arguments: ["\u{85}", "\u{2028}", "\u{2029}"])
    func yaml11LineBreaksAreRefused(_ c: String) {
        let text = "{\"mode\": \"daily\",\n \"steps\": [{\"start_min\": 0, \"rate\": {\"value\": \"1.5\", \"unit\": \"mg/d\(c)ay\"}}]}"
        let refused = problem(text)
        #expect(refused?.contains("line 2: U+") == true, "\(refused ?? "accepted")")
        #expect(refused?.contains("a line break to YAML 1.1 but a character to JSON") == true)
        // Read as JSON it is the text as written (pumpd then refuses the unit).
        #expect(problem(text, yaml: false) == nil)
        #expect(problem("a: b\nc: \"x\(c)\"", yaml: true)?.contains("line 2") == true)
    }

    /// pumpctl itself, as a process: refused at once, in little memory.
    @Test func pumpctlRefusesABillionLaughsAtOnce() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("laughs-\(UUID().uuidString).yaml").path
        try Self.billionLaughs.write(toFile: file, atomically: false, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try Spawned.run(DaemonCommandTests.binary.path, ["program", "review", file, "--socket", "/nonexistent/x"], killAfter: .seconds(20))
        #expect(r.status == 65, "\(r.stderr)")
        #expect(r.stderr.contains("aliases (*name) are not accepted"), "\(r.stderr)")
        #expect(r.elapsed < .seconds(1), "took \(r.elapsed)")
        #expect(r.maxRSSKiB < 100 * 1024, "used \(r.maxRSSKiB) KiB")
    }
}

/// A child run and reaped with wait4, for its own peak memory. posix_spawn
/// starts a child in its parent's address space (CLONE_VM), and Linux then
/// charges the parent's peak to the child's ru_maxrss at exec: a pumpctl of
/// 20 MiB read as the test process's 100 MiB once the suite had grown. So a
/// small Python parent forks (a copy of its own few MiB) and execs pumpctl,
/// and reports that child's peak alone.
enum Spawned {
    struct Result {
        var status: Int32
        var stderr: String
        var elapsed: Duration
        var maxRSSKiB: Int
    }

    static let forkAndMeasure = """
        import os, sys
        pid = os.fork()
        if pid == 0:
            os.execv(sys.argv[2], sys.argv[2:])
        _, status, usage = os.wait4(pid, 0)
        with open(sys.argv[1], "w") as f:
            f.write(str(usage.ru_maxrss))
        os._exit(os.waitstatus_to_exitcode(status) & 0xFF)
        """

    static func run(_ path: String, _ arguments: [String], killAfter limit: Duration) throws -> Result {
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("spawned-\(UUID().uuidString)").path
        let errFile = scratch + ".stderr", rssFile = scratch + ".maxrss"
        defer { for f in [errFile, rssFile] { try? FileManager.default.removeItem(atPath: f) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, errFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        // A group of its own, so that a run over its limit is killed whole.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        let python = "/usr/bin/python3"
        let argv: [UnsafeMutablePointer<CChar>?] = ([python, "-c", forkAndMeasure, rssFile, path] + arguments).map { strdup($0) } + [nil]
        defer { for a in argv { free(a) } }
        var pid: pid_t = 0
        let start = ContinuousClock.now
        let rc = posix_spawn(&pid, python, &actions, &attributes, argv, environ)
        guard rc == 0 else { throw POSIXError(POSIXErrorCode(rawValue: rc) ?? .EIO) }
        var status: Int32 = 0
        while true {
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid { break }
            if ContinuousClock.now - start > limit {
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                break
            }
            usleep(5_000)
        }
        let elapsed = ContinuousClock.now - start
        let exited = status & 0x7F == 0
        let rss = (try? String(contentsOfFile: rssFile, encoding: .utf8)).flatMap { Int($0) }
        return Result(
            status: exited ? (status >> 8) & 0xFF : -1, stderr: (try? String(contentsOfFile: errFile, encoding: .utf8)) ?? "",
            elapsed: elapsed, maxRSSKiB: rss ?? .max)
    }
}
