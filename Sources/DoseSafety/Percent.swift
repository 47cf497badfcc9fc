/// A change between two whole amounts, for people: the direction, the
/// amount, and the percent to one decimal place, rounded half up, in integers.
public struct Change: Sendable, Hashable {
    public enum Direction: String, Sendable { case increase, decrease, none }
    public var direction: Direction
    public var amount: UInt64
    /// Tenths of a percent of the old amount; nil when the old amount is zero (a start, not a change).
    public var permille: UInt64?

    public init(from old: UInt64, to new: UInt64) {
        direction = new > old ? .increase : new < old ? .decrease : .none
        amount = new > old ? new - old : old - new
        permille = old == 0 ? nil : (amount * 1000 * 2 + old) / (old * 2)
    }

    /// "12.5" for 125 permille.
    public var percentText: String? { permille.map { "\($0 / 10).\($0 % 10)" } }

    /// Whether the change exceeds `percent` of the old amount (exact, no rounding).
    public func exceeds(percent: UInt64, of old: UInt64) -> Bool { old > 0 && amount * 100 > old * percent }
}
