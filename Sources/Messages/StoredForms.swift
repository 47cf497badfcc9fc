/// How Messages' values are kept where they are stored as data (the audit
/// trail's typed columns, which GRDB writes as JSON): a quantity with its
/// unit, a code by its ICD name. Reading one back refuses a unit or a name
/// that is not the type's, so a stored ng/day can never come back as ng.
/// Records (programs, boluses, refills, events) declare Codable where they
/// are declared and are stored field by field.
extension Quantity: Codable {
    enum CodingKeys: String, CodingKey { case value, unit }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let unit = try c.decode(String.self, forKey: .unit)
        guard unit == Unit.symbol else {
            throw DecodingError.dataCorruptedError(
                forKey: .unit, in: c, debugDescription: "a quantity in \(unit) where one in \(Unit.symbol) was stored")
        }
        self.init(try c.decode(UInt64.self, forKey: .value))
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(raw, forKey: .value)
        try c.encode(Unit.symbol, forKey: .unit)
    }
}

extension ICDNamed {
    init(storedNameFrom decoder: any Decoder) throws {
        let c = try decoder.singleValueContainer()
        let name = try c.decode(String.self)
        guard let value = Self(name: name) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "\(name) is not a name of \(Self.self)")
        }
        self = value
    }

    func encodeName(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(name)
    }
}

extension Opcode: Codable {
    public init(from decoder: any Decoder) throws { try self.init(storedNameFrom: decoder) }
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
}

extension StatusCode: Codable {
    public init(from decoder: any Decoder) throws { try self.init(storedNameFrom: decoder) }
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
}

extension AlarmBit: Codable {
    public init(from decoder: any Decoder) throws { try self.init(storedNameFrom: decoder) }
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
}

extension Drug: Codable {
    public init(from decoder: any Decoder) throws { try self.init(storedNameFrom: decoder) }
    public func encode(to encoder: any Encoder) throws { try encodeName(to: encoder) }
}

extension AlarmSet: Codable {
    public init(from decoder: any Decoder) throws { self.init(bits: try decoder.singleValueContainer().decode(UInt16.self)) }
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(bits)
    }
}
