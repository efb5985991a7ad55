// Shared fixture access for the Detection tests.
import Foundation
import Media
import TestSupport

/// `Tests/Fixtures/detection/<name>`.
func detectionFixture(_ name: String) -> URL { fixtureURL("detection").appendingPathComponent(name) }

/// A JSON fixture as a dictionary.
func jsonFixture(_ name: String) throws -> [String: Any] {
    let data = try Data(contentsOf: detectionFixture(name))
    return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
}

/// Doubles from a JSON array (nulls become nil).
func doubles(_ value: Any?) -> [Double?] {
    (value as? [Any] ?? []).map { ($0 as? NSNumber)?.doubleValue }
}

import Testing
