import Messages

/// When the daily dose was last increased, told by the pump's own log: its
/// PROGRAM_COMMITTED events in order, each matched by CRC to a program pumpd
/// pushed. A commit whose program pumpd never pushed (another programmer)
/// breaks the chain, and the next one is not compared against it.
public enum DoseHistory {
    /// A PROGRAM_COMMITTED event: its device time and the CRC of the program it committed.
    public struct Commit: Sendable, Hashable {
        public var time: UnixTime
        public var crc: UInt32
        public init(time: UnixTime, crc: UInt32) {
            self.time = time
            self.crc = crc
        }
    }

    /// Device time (ms) of the last commit that raised the average daily dose;
    /// nil when none did.
    public static func lastIncreaseMs(commits: [Commit], programs byCRC: [UInt32: ProgramRecord]) -> Int64? {
        var previous: ProgramRecord?
        var last: Int64?
        for commit in commits {
            let program = byCRC[commit.crc]
            if let program, let previous, Schedule.averageDailyDose(program) > Schedule.averageDailyDose(previous) {
                last = commit.time.milliseconds
            }
            previous = program
        }
        return last
    }
}
