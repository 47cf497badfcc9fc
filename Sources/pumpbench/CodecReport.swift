import Foundation

/// Everything `pumpbench codec` measured, as printed with --json, and the table.
struct CodecReport: Codable, Sendable {
    static let crcName = "crc32c 1 MiB"

    struct SwiftSide: Codable, Sendable {
        var cases: [SwiftCaseResult]
        var crc: CRCResult?
    }

    /// One case, Swift beside Python.
    struct Comparison: Codable, Sendable {
        var name: String
        var swiftFramesPerS: Double
        var swiftMbPerS: Double
        var pythonFramesPerS: Double?
        var pythonMbPerS: Double?
        /// Swift's frames/s over Python's (equal to the MB/s ratio when the bytes match).
        var swiftOverPython: Double?
        /// Both sides put the same bytes on the wire for the reference frame.
        var sameWireBytes: Bool?
        /// Cores' worth of CPU other processes took while each side ran this case.
        var swiftOtherCoresBusy: Double?
        var pythonOtherCoresBusy: Double?
    }

    var benchmark = "codec"
    var mb = "10^6 wire bytes (COBS-encoded frame plus its 0x00 delimiter); CRC cases: 10^6 buffer bytes"
    var method =
        "warm-up, then timed rounds (ContinuousClock; Python: perf_counter_ns) until `rounds` were quiet "
        + "(other processes took <= 0.2 cores, from /proc/stat) or 4 x rounds ran; median quiet round reported"
    var machine: Machine
    var secondsPerCase: Double
    var rounds: Int
    var swift: SwiftSide
    var python: YardstickReport?
    var pythonNote: String?
    var comparison: [Comparison]
    /// Swift's slice-by-8 MB/s over Python crc32c's.
    var crcSwiftOverPython: Double?

    init(
        machine: Machine, secondsPerCase: Double, rounds: Int, swift: SwiftSide,
        python: YardstickReport?, pythonNote: String?
    ) {
        self.machine = machine
        self.secondsPerCase = secondsPerCase
        self.rounds = rounds
        self.swift = swift
        self.python = python
        self.pythonNote = pythonNote
        comparison = swift.cases.map { s in
            let p = python?.cases.first { $0.name == s.name }
            return Comparison(
                name: s.name,
                swiftFramesPerS: s.measured.framesPerS, swiftMbPerS: s.measured.mbPerS,
                pythonFramesPerS: p?.framesPerS, pythonMbPerS: p?.mbPerS,
                swiftOverPython: p.map { s.measured.framesPerS / $0.framesPerS },
                sameWireBytes: p.map {
                    $0.referenceWireCrc32c == s.referenceWireCrc32c && $0.wireBytesPerFrame == s.wireBytesPerFrame
                },
                swiftOtherCoresBusy: s.measured.otherCoresBusy,
                pythonOtherCoresBusy: p?.otherCoresBusy)
        }
        if let sliced = swift.crc?.sliceBy8, let p = python?.crc {
            crcSwiftOverPython = sliced.mbPerS / p.mbPerS
        }
    }

    func table() -> String {
        var lines: [String] = []
        lines.append("pumpbench codec: PPL/1 wire codec throughput")
        lines.append(
            "machine: \(machine.cpu), \(machine.cores) cores, load \(machine.loadAverageAtStart) at start; "
                + "\(machine.build) build")
        if machine.build != "release" {
            lines.append("WARNING: a debug build; its figures say nothing about the codec. Use -c release.")
        }
        lines.append("MB = 10^6 wire bytes (COBS-encoded frame plus its 0x00 delimiter).")
        lines.append(
            "Per case: warm-up, then rounds of ~\(fixed(secondsPerCase / Double(rounds), 2)) s until \(rounds) were quiet "
                + "(others <= \(quietLimit) cores) or \(4 * rounds) were run; the median quiet round is shown.")
        lines.append("Decode: an ~8 MiB stream of frames fed to a Deframer in 64 KiB slices.")
        if let python {
            lines.append(
                "Python \(python.python): cobs \(python.modules.cobs)"
                    + "\(python.modules.cobsCExtension ? " (C extension)" : " (PURE PYTHON)"), "
                    + "crc32c \(python.modules.crc32c)"
                    + "\(python.modules.crc32cHardware ? " (hardware CRC32)" : " (software)"), "
                    + python.modules.hmac)
        }
        if let pythonNote { lines.append("note: \(pythonNote)") }
        lines.append("")

        if !comparison.isEmpty {
            let header = [
                pad("case", 22, left: true), pad("Swift frames/s", 16), pad("Swift MB/s", 12),
                pad("Python frames/s", 17), pad("Python MB/s", 13), pad("Swift/Python", 14),
                pad("others S/P", 12),
            ]
            lines.append(header.joined())
            lines.append(String(repeating: "-", count: header.joined().count))
            for c in comparison {
                var row = pad(c.name, 22, left: true) + pad(grouped(c.swiftFramesPerS), 16)
                    + pad(fixed(c.swiftMbPerS, 1), 12)
                if let pf = c.pythonFramesPerS, let pm = c.pythonMbPerS, let r = c.swiftOverPython {
                    row += pad(grouped(pf), 17) + pad(fixed(pm, 1), 13) + pad(fixed(r, 2) + "x", 14)
                } else {
                    row += pad("-", 17) + pad("-", 13) + pad("-", 14)
                }
                let pythonBusy = c.pythonFramesPerS == nil ? "-" : busy(c.pythonOtherCoresBusy)
                row += pad(busy(c.swiftOtherCoresBusy) + "/" + pythonBusy, 12)
                if c.sameWireBytes == false { row += "  (wire bytes differ!)" }
                lines.append(row)
            }
            if comparison.contains(where: { $0.sameWireBytes == true }) {
                let all = comparison.allSatisfy { $0.sameWireBytes != false }
                lines.append(
                    all
                        ? "Both sides put identical wire bytes on the line (reference frame CRC-32C matches)."
                        : "WARNING: the two sides build different wire bytes for some cases.")
            }
            lines.append(
                "others S/P: cores' worth of CPU that other processes took during the rounds shown, Swift / Python "
                    + "(* above \(quietLimit): no quiet round; the figure is likely low).")
            lines.append("")
        }

        if let crc = swift.crc {
            let title = "CRC-32C over \(crc.bufferBytes / (1024 * 1024)) MiB"
            lines.append(pad(title, 44, left: true) + pad("MB/s", 12) + pad("others", 8))
            lines.append(
                pad("Swift slice-by-8 (CRC32C.checksum)", 44, left: true) + pad(fixed(crc.sliceBy8.mbPerS, 1), 12)
                    + pad(busy(crc.sliceBy8.otherCoresBusy), 8))
            lines.append(
                pad("Swift byte-at-a-time (CRC32C.bytewise)", 44, left: true) + pad(fixed(crc.bytewise.mbPerS, 1), 12)
                    + pad(busy(crc.bytewise.otherCoresBusy), 8))
            lines.append(pad("slice-by-8 / bytewise", 44, left: true) + pad(fixed(crc.speedup, 2) + "x", 12))
            if let p = python?.crc {
                let how = p.hardware ? "CPU's CRC32 instruction" : "software"
                lines.append(
                    pad("Python crc32c (\(how))", 44, left: true) + pad(fixed(p.mbPerS, 1), 12)
                        + pad(busy(p.otherCoresBusy), 8))
                if let r = crcSwiftOverPython {
                    lines.append(pad("Swift slice-by-8 / Python crc32c", 44, left: true) + pad(fixed(r, 2) + "x", 12))
                }
            }
        }
        return lines.joined(separator: "\n")
    }
}

/// Other processes' CPU in cores, starred when it was enough to lower the figure.
private func busy(_ cores: Double?) -> String {
    guard let cores else { return "?" }
    return fixed(cores, 1) + (cores > quietLimit ? "*" : "")
}

private func pad(_ s: String, _ width: Int, left: Bool = false) -> String {
    let room = max(0, width - s.count)
    return left ? s + String(repeating: " ", count: room) : String(repeating: " ", count: room) + s
}

private func fixed(_ x: Double, _ digits: Int) -> String {
    String(format: "%.\(digits)f", x)
}

/// An integer rate with thousands separators: 1,234,567.
private func grouped(_ x: Double) -> String {
    let digits = String(Int(x.rounded()))
    var out = ""
    for (i, ch) in digits.enumerated() {
        if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
        out.append(ch)
    }
    return out
}
