import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// How much of the machine other processes used while a case was timed: the
/// CPU time of the whole machine (from /proc/stat, hypervisor steal included)
/// less this process's own, over the wall time, in cores. On a shared 2-core
/// machine a value near 1 means the case competed for the CPU and its figures
/// are low. Nil where /proc/stat is not available.
struct Contention {
    private let machineBusy: Double
    private let ownCPU: Double
    private let wall: ContinuousClock.Instant

    static func start() -> Contention? {
        guard let busy = machineBusySeconds() else { return nil }
        return Contention(machineBusy: busy, ownCPU: processCPUSeconds(), wall: .now)
    }

    /// Cores' worth of CPU that other processes (or the hypervisor) took since `start()`.
    func otherCores() -> Double? {
        guard let busy = Self.machineBusySeconds() else { return nil }
        let wallSeconds = wall.duration(to: .now).seconds
        guard wallSeconds > 0 else { return nil }
        let others = (busy - machineBusy) - (Self.processCPUSeconds() - ownCPU)
        return max(0, others / wallSeconds)
    }

    /// user + nice + system + irq + softirq + steal of all cores, in seconds.
    private static func machineBusySeconds() -> Double? {
        #if os(Linux)
            guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
                let line = stat.split(separator: "\n").first, line.hasPrefix("cpu ")
            else { return nil }
            let fields = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            guard fields.count >= 8 else { return nil }
            let busy = fields[0] + fields[1] + fields[2] + fields[5] + fields[6] + fields[7]
            return busy / Double(sysconf(Int32(_SC_CLK_TCK)))
        #else
            return nil
        #endif
    }

    private static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
