import Foundation

/// The small data files the tests train on (Tests/DatasetsTests/Fixtures).
public enum Fixtures {
    /// Tests/DatasetsTests/Fixtures/`name`.
    public static func dataset(_ name: String) -> URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../DatasetsTests/Fixtures/\(name)").standardizedFileURL
    }

    /// `dir`/data, made, holding the tiny Seattle weather series under the name the data cache reads.
    @discardableResult
    public static func seattleDataFolder(in dir: URL) throws -> URL {
        let data = dir.appendingPathComponent("data")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        try FileManager.default.copyItem(
            at: dataset("seattle-weather-tiny.csv"), to: data.appendingPathComponent("seattle-weather.csv"))
        return data
    }
}
