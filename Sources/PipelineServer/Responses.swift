import HTTPTypes
import Hummingbird
import NIOCore
public import PipelineCore

extension Response {
    /// A JSON answer of `bytes`: the one way every endpoint answers with JSON.
    static func json(_ bytes: [UInt8], status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}

/// Writes `PipelineInfoResponse`: `{"total":…,"results":[…],"count":…,"pipelines":[…],"next_cursor":…}`.
///
/// One writer for a single page and for a streamed `all_data` answer alike, so both carry the
/// same members in the same order: `results` comes before `count` and `pipelines`, which a
/// streamed answer only knows at its end (JSON objects have no member order).
public struct PipelineInfoResponseWriter {
    private var writer: JSONWriter
    private var names: Set<ExactText> = []
    private var count = 0

    /// Starts the answer: its total (every match regardless of paging) and the opening of `results`.
    public init(total: Int, expectedRuns: Int) {
        writer = JSONWriter(reservingCapacity: 256 + expectedRuns * 640)
        writer.beginObject()
        writer.key("total")
        writer.integer(total)
        writer.key("results")
        writer.beginArray()
    }

    /// Appends runs to `results`.
    public mutating func append(_ runs: some Sequence<StoredRun>) {
        for run in runs {
            run.info.write(to: &writer)
            if let name = run.info.pipelineName { names.insert(ExactText(name)) }
            count += 1
        }
    }

    /// The bytes written since the last call (a chunk of a streamed answer).
    public mutating func takeBytes() -> [UInt8] {
        writer.takeBytes()
    }

    /// Closes `results` and writes `count` (`len(results)`), `pipelines` (the distinct non-null
    /// names in `results`, in byte order: ``ExactText``) and `next_cursor`; returns the remaining bytes.
    public mutating func finish(nextCursor: RunCursor?) -> [UInt8] {
        writer.endArray()
        writer.key("count")
        writer.integer(count)
        writer.key("pipelines")
        writer.array(names.sorted()) { writer, name in writer.string(name.string) }
        writer.key("next_cursor")
        writer.optionalString(nextCursor?.description)
        writer.endObject()
        return writer.takeBytes()
    }

    /// The whole answer for one page.
    public static func bytes(for page: RunPage) -> [UInt8] {
        var response = PipelineInfoResponseWriter(total: page.total, expectedRuns: page.runs.count)
        response.append(page.runs)
        return response.finish(nextCursor: page.nextCursor)
    }
}

/// `PipelineListResponse`: `{"pipelines":[PipelineSummary…]}`.
public enum PipelineListResponse {
    public static func bytes(_ pipelines: [PipelineSummary]) -> [UInt8] {
        var writer = JSONWriter(reservingCapacity: 64 + pipelines.count * 300)
        writer.object { writer in
            writer.key("pipelines")
            writer.array(pipelines) { writer, summary in summary.write(to: &writer) }
        }
        return writer.bytes
    }
}
