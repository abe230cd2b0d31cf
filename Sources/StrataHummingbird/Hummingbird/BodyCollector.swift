import HTTPTypes
import Hummingbird
import NIOCore

/// Reads a response body into memory: cached routes store whole responses.
enum BodyCollector {
    private final class Sink {
        var buffer = ByteBuffer()
    }

    private struct Writer: ResponseBodyWriter {
        let sink: Sink

        mutating func write(_ buffer: ByteBuffer) async throws {
            var buffer = buffer
            sink.buffer.writeBuffer(&buffer)
        }

        consuming func finish(_ trailingHeaders: HTTPFields?) async throws {}
    }

    /// The whole body of `response`.
    static func collect(_ response: Response) async throws -> ByteBuffer {
        let sink = Sink()
        try await response.body.write(Writer(sink: sink))
        return sink.buffer
    }
}
