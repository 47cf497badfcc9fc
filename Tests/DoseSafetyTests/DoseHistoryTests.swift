import DoseSafety
import Messages
import Testing

/// "When was the dose last increased", from the pump's commit events and the
/// programs they committed: the review's min-interval rule reads it.
struct DoseHistoryTests {
    let two = record(.continuous, [(0, 20)]), twoPointFour = record(.continuous, [(0, 24)]), three = record(.continuous, [(0, 30)])

    func commit(_ seconds: Int64, _ p: ProgramRecord) -> DoseHistory.Commit { .init(time: UnixTime(seconds: seconds), crc: p.crc) }

    @Test("increases, decreases, and a first program")
    func increasesOnly() {
        let programs = [two.crc: two, twoPointFour.crc: twoPointFour, three.crc: three]
        #expect(DoseHistory.lastIncreaseMs(commits: [], programs: programs) == nil)
        #expect(DoseHistory.lastIncreaseMs(commits: [commit(1_000, two)], programs: programs) == nil, "a first program is not an increase")
        #expect(DoseHistory.lastIncreaseMs(commits: [commit(1_000, two), commit(2_000, twoPointFour)], programs: programs) == 2_000_000)
        #expect(
            DoseHistory.lastIncreaseMs(commits: [commit(1_000, two), commit(2_000, twoPointFour), commit(3_000, two)], programs: programs)
                == 2_000_000, "a decrease leaves the last increase where it was")
        #expect(
            DoseHistory.lastIncreaseMs(
                commits: [commit(1_000, two), commit(2_000, three), commit(3_000, two), commit(4_000, twoPointFour)], programs: programs)
                == 4_000_000)
    }

    @Test("a program pumpd never pushed breaks the chain: the next commit is not compared across it")
    func unknownProgramBreaksTheChain() {
        let programs = [two.crc: two, three.crc: three]
        let foreign = DoseHistory.Commit(time: UnixTime(seconds: 2_000), crc: 0xDEAD_BEEF)
        #expect(DoseHistory.lastIncreaseMs(commits: [commit(1_000, two), foreign, commit(3_000, three)], programs: programs) == nil)
    }

    @Test("a commit at any 64-bit time: no trap, the time saturates")
    func anyTime() {
        let programs = [two.crc: two, three.crc: three]
        for seconds in [Int64.min, -1, Int64.max] {
            let last = DoseHistory.lastIncreaseMs(commits: [commit(0, two), commit(seconds, three)], programs: programs)
            #expect(last == UnixTime(seconds: seconds).milliseconds)
        }
    }
}
