// Micro-benchmarks of the RESP codec: decoding typical replies, building owned RESPValue trees,
// and encoding a command. Each measured iteration runs the operation 1000 times
// (scalingFactor .kilo); the printed figures are per single operation.

import Benchmark
import NIOCore
import RESP

/// The metrics that work with package-benchmark on Swift 6.3 (the retain/release and object
/// allocation counters crash there). Malloc counts come from the malloc interposer.
let codecMetrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal]

/// Reply bytes for each decoding benchmark.
enum Replies {
    /// A `GET` hit: `$3\r\nxxx\r\n`.
    static let get = ByteBuffer(string: "$3\r\nxxx\r\n")

    /// A 1 KiB bulk string.
    static let bulk1KiB: ByteBuffer = {
        var buffer = ByteBuffer(string: "$1024\r\n")
        buffer.writeRepeatingByte(UInt8(ascii: "v"), count: 1024)
        buffer.writeString("\r\n")
        return buffer
    }()

    /// An array of 100 bulk strings (`value:000` ... `value:099`), as `LRANGE` or `MGET` return.
    static let array100: ByteBuffer = {
        var buffer = ByteBuffer(string: "*100\r\n")
        for index in 0..<100 { writeBulk(&buffer, "value:" + threeDigits(index)) }
        return buffer
    }()

    /// A RESP3 map of 20 field/value pairs, as `HGETALL` returns over RESP3.
    static let map20: ByteBuffer = {
        var buffer = ByteBuffer(string: "%20\r\n")
        for index in 0..<20 {
            writeBulk(&buffer, "field:" + threeDigits(index))
            writeBulk(&buffer, "value:" + threeDigits(index))
        }
        return buffer
    }()

    private static func writeBulk(_ buffer: inout ByteBuffer, _ text: String) {
        buffer.writeString("$\(text.utf8.count)\r\n\(text)\r\n")
    }

    private static func threeDigits(_ value: Int) -> String {
        let digits = String(value)
        return String(repeating: "0", count: max(0, 3 - digits.count)) + digits
    }

    /// Decodes `buffer` once, outside any measurement, to get its token.
    static func token(_ buffer: ByteBuffer) -> RESPToken {
        var copy = buffer
        var decoder = RESPTokenDecoder()
        guard let token = try? decoder.decode(from: &copy), copy.readableBytes == 0 else {
            fatalError("benchmark input is not exactly one complete reply")
        }
        return token
    }
}

/// Decodes one whole reply from a fresh view of `input` per operation. Copying a ByteBuffer only
/// shares its storage, and decoding only moves the copy's reader index, so the measured work is
/// the scan and the slice.
func benchmarkDecode(_ name: String, _ input: ByteBuffer) {
    // Fail fast (outside measurement) if the input is wrong.
    _ = Replies.token(input)
    Benchmark(name, configuration: .init(metrics: codecMetrics, scalingFactor: .kilo)) { benchmark in
        var decoder = RESPTokenDecoder()
        for _ in benchmark.scaledIterations {
            var buffer = input
            blackHole(try decoder.decode(from: &buffer))
        }
    }
}

func benchmarks() {
    Benchmark.defaultConfiguration.maxDuration = .seconds(2)
    Benchmark.defaultConfiguration.maxIterations = 1_000_000

    benchmarkDecode("decode GET reply", Replies.get)
    benchmarkDecode("decode 1 KiB bulk string", Replies.bulk1KiB)
    benchmarkDecode("decode array of 100 bulk strings", Replies.array100)
    benchmarkDecode("decode RESP3 map of 20 fields", Replies.map20)

    let arrayToken = Replies.token(Replies.array100)
    Benchmark("RESPValue(token) array of 100 bulk strings", configuration: .init(metrics: codecMetrics, scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RESPValue(arrayToken))
        }
    }

    let mapToken = Replies.token(Replies.map20)
    Benchmark("RESPValue(token) map of 20 fields", configuration: .init(metrics: codecMetrics, scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(RESPValue(mapToken))
        }
    }

    // Encodes into a buffer that is cleared and reused, as a connection's outbound buffer is.
    Benchmark("encode SET key value EX 10", configuration: .init(metrics: codecMetrics, scalingFactor: .kilo)) { benchmark in
        var encoder = RESPCommandEncoder(buffer: ByteBuffer())
        encoder.buffer.reserveCapacity(256)
        benchmark.startMeasurement()  // not the buffer's one allocation above
        let key = "key"
        let value = "value"
        for _ in benchmark.scaledIterations {
            encoder.buffer.clear()
            encoder.encode("SET", key, value, RESPOption("EX", 10))
            blackHole(encoder.buffer.readableBytes)
        }
    }

    // The same bytes written with explicit calls instead of the variadic `encode(_:_:)`: a
    // reference for the cost of the argument-pack path.
    Benchmark("encode SET key value EX 10 (explicit writes)", configuration: .init(metrics: codecMetrics, scalingFactor: .kilo)) { benchmark in
        var encoder = RESPCommandEncoder(buffer: ByteBuffer())
        encoder.buffer.reserveCapacity(256)
        benchmark.startMeasurement()
        let key = "key"
        let value = "value"
        for _ in benchmark.scaledIterations {
            encoder.buffer.clear()
            encoder.writeArrayHeader(5)
            encoder.writeBulk("SET" as StaticString)
            encoder.writeBulk(key)
            encoder.writeBulk(value)
            encoder.writeBulk("EX" as StaticString)
            encoder.writeBulk(10)
            blackHole(encoder.buffer.readableBytes)
        }
    }
}
