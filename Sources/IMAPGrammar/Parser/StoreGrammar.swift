/// STORE (RFC 9051 section 6.4.6, RFC 7162 section 3.1.3).
extension GrammarCursor {
    // store = "STORE" SP sequence-set [store-modifiers] SP store-att-flags
    // store-modifiers = SP "(" store-modifier *(SP store-modifier) ")"
    // store-modifier  = "UNCHANGEDSINCE" SP mod-sequence-valzer
    mutating func store() throws(GrammarError) -> StoreCommand {
        try space()
        let set = try sequenceSet()
        try space()
        var modifiers: [StoreModifier] = []
        if peek() == 0x28 {
            modifiers = try parenthesizedList(allowEmpty: false) { (c: inout GrammarCursor) throws(GrammarError) -> StoreModifier in
                let name = c.keyword()
                guard name == "UNCHANGEDSINCE" else { throw .syntax("unknown STORE modifier \(name)") }
                try c.space()
                return .unchangedSince(try c.number64())
            }
            try space()
        }
        return StoreCommand(sequenceSet: set, modifiers: modifiers, flags: try storeAttributeFlags())
    }

    // store-att-flags = (["+" / "-"] "FLAGS" [".SILENT"]) SP (flag-list / (flag *(SP flag)))
    mutating func storeAttributeFlags() throws(GrammarError) -> StoreFlags {
        let operation: StoreFlags.Operation
        if take(0x2B) { operation = .add } else if take(0x2D) { operation = .remove } else { operation = .replace }
        let silent: Bool
        switch keyword() {
        case "FLAGS": silent = false
        case "FLAGS.SILENT": silent = true
        default: throw .syntax("expected FLAGS, +FLAGS or -FLAGS")
        }
        try space()
        var flags: [Flag]
        if peek() == 0x28 {
            flags = try flagList()
        } else {
            flags = [try flag()]
            while take(0x20) {
                flags.append(try flag())
                guard flags.count <= limits.maxListItems else { throw GrammarError(kind: .tooManyItems, message: "too many flags") }
            }
        }
        return StoreFlags(operation: operation, silent: silent, flags: flags)
    }
}
