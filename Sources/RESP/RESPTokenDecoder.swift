public import NIOCore

/// Decodes RESP2 and RESP3 replies from a byte stream, one complete value at a time.
///
/// Feed it the connection's accumulated bytes; each call either slices one whole reply off the
/// front (consuming it) or returns nil and consumes nothing, to be called again when more bytes
/// arrive. Values may arrive split at any byte. Every length, count and depth is checked against
/// ``limits`` before waiting for the bytes it announces.
///
/// After a thrown ``RESPParseError`` the stream is unusable: close the connection.
public struct RESPTokenDecoder: Sendable {
    /// The limits every reply must respect.
    public var limits: RESPLimits
    /// Buffers shorter than this cannot hold the pending reply; skip rescanning them.
    private var needAtLeast = 0

    /// Creates a decoder with the given limits.
    public init(limits: RESPLimits = .default) {
        self.limits = limits
    }

    /// Decodes the next complete reply from the front of `buffer`.
    ///
    /// - Returns: the reply, with its bytes consumed from `buffer`; or nil when `buffer` does not
    ///   yet hold a whole reply (nothing is consumed).
    /// - Throws: ``RESPParseError`` when the bytes are not valid RESP or exceed a limit.
    /// - Complexity: O(elements scanned); a reply split over k reads is rescanned at most k times.
    public mutating func decode(from buffer: inout ByteBuffer) throws(RESPParseError) -> RESPToken? {
        guard buffer.readableBytes >= needAtLeast, buffer.readableBytes > 0 else { return nil }
        let limits = self.limits
        let outcome: Result<RESPScanner.Outcome, RESPParseError> = buffer.withUnsafeReadableBytes { bytes in
            var scanner = RESPScanner(bytes: bytes, limits: limits)
            do throws(RESPParseError) {
                return .success(try scanner.scan())
            } catch {
                return .failure(error)
            }
        }
        switch outcome {
        case .failure(let error):
            throw error
        case .success(.incomplete(let needed)):
            needAtLeast = needed
            return nil
        case .success(.complete(let end)):
            needAtLeast = 0
            guard let slice = buffer.readSlice(length: end) else { return nil }
            return RESPToken(validated: slice)
        }
    }

    /// Decodes every complete reply at the front of `buffer`, handing each to `body` in order.
    ///
    /// The same as calling ``decode(from:)`` until it returns nil, but the buffer's storage is
    /// read once for all the replies rather than once per reply. Each token is handed over owned,
    /// so `body` can store it without another reference count on the buffer's storage.
    ///
    /// - Throws: ``RESPParseError`` when the bytes are not valid RESP or exceed a limit. The
    ///   replies before the bad bytes have been handed to `body` and consumed.
    public mutating func decodeAll(from buffer: inout ByteBuffer, _ body: (consuming RESPToken) -> Void) throws(RESPParseError) {
        guard buffer.readableBytes >= needAtLeast, buffer.readableBytes > 0 else { return }
        let limits = self.limits
        let snapshot = buffer
        var consumed = 0
        var needed = 0
        var failure: RESPParseError?
        snapshot.withUnsafeReadableBytes { bytes in
            while consumed < bytes.count {
                let rest = UnsafeRawBufferPointer(rebasing: bytes[consumed...])
                var scanner = RESPScanner(bytes: rest, limits: limits)
                let outcome: RESPScanner.Outcome
                do throws(RESPParseError) {
                    outcome = try scanner.scan()
                } catch {
                    failure = error
                    return
                }
                switch outcome {
                case .incomplete(let needAtLeast):
                    needed = needAtLeast
                    return
                case .complete(let end):
                    let slice = snapshot.getSlice(at: snapshot.readerIndex + consumed, length: end)!
                    consumed += end
                    body(RESPToken(validated: slice, typeByte: rest[0]))
                }
            }
        }
        buffer.moveReaderIndex(forwardBy: consumed)
        if let failure { throw failure }
        needAtLeast = needed
    }
}
