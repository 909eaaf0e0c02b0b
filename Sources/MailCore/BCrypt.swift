import CCrypt

#if canImport(Glibc)
import Glibc
#endif

/// bcrypt (`$2b$`) through libxcrypt's re-entrant `crypt_r`.
///
/// One hash at cost 10 takes about 50 ms of CPU: callers run these functions on a thread that
/// may block (see `PasswordHasher`), never on an event loop.
public enum BCrypt {
    public static let minimumCost = 4
    public static let maximumCost = 31

    public struct Failure: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    public static func hash(_ password: String, cost: Int) throws -> String {
        guard (minimumCost...maximumCost).contains(cost) else { throw Failure(description: "bcrypt cost \(cost) outside 4...31") }
        var saltBuffer = [CChar](repeating: 0, count: Int(CRYPT_GENSALT_OUTPUT_SIZE))
        let salt: String? = saltBuffer.withUnsafeMutableBufferPointer { buffer in
            // NULL random bytes: libxcrypt reads them from the kernel itself.
            guard crypt_gensalt_rn("$2b$", UInt(cost), nil, 0, buffer.baseAddress, Int32(buffer.count)) != nil else { return nil }
            return String(cString: buffer.baseAddress!)
        }
        guard let salt, salt.hasPrefix("$2b$") else { throw Failure(description: "crypt_gensalt_rn failed") }
        return try crypt(password, setting: salt)
    }

    /// Compares in constant time over the hash text so that timing tells nothing about how much matched.
    public static func verify(_ password: String, against storedHash: String) -> Bool {
        guard storedHash.hasPrefix("$2"), let computed = try? crypt(password, setting: storedHash) else { return false }
        let lhs = Array(computed.utf8), rhs = Array(storedHash.utf8)
        guard lhs.count == rhs.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
        return difference == 0
    }

    private static func crypt(_ password: String, setting: String) throws -> String {
        // struct crypt_data is about 32 KB: allocate it zeroed, off the stack.
        let data = UnsafeMutablePointer<crypt_data>.allocate(capacity: 1)
        defer {
            memset(data, 0, MemoryLayout<crypt_data>.size)
            data.deallocate()
        }
        memset(data, 0, MemoryLayout<crypt_data>.size)
        guard let result = crypt_r(password, setting, data) else { throw Failure(description: "crypt_r failed") }
        let text = String(cString: result)
        // libxcrypt reports some failures as a string starting with "*" rather than NULL.
        guard !text.hasPrefix("*") else { throw Failure(description: "crypt_r refused the setting") }
        return text
    }
}
