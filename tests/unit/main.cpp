// The unit-test runner, the same natively, under ASan, in Node and in Chromium. Catch2 prints
// its usual report; then main() prints one line in a fixed form that tools/test and the browser
// runner read, counting test cases:
//   duet-tests: <passed> passed, <failed> failed
// It is printed from main() rather than from the listener because Catch calls listeners before
// its reporter, and the line must come after the reporter's summary, as the last line.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <iostream>
#include <optional>

namespace {

// Set when a test run ends; stays empty when Catch did not run tests (--help, --list-tests,
// bad arguments), so no line is printed and a caller cannot mistake that for a run.
std::optional<Catch::Counts> test_cases;

struct TotalsListener : Catch::TestEventListenerBase {
  using TestEventListenerBase::TestEventListenerBase;
  void testRunEnded(const Catch::TestRunStats& stats) override { test_cases = stats.totals.testCases; }
};

}  // namespace

CATCH_REGISTER_LISTENER(TotalsListener)

int main(int argc, char* argv[]) {
  const int result = Catch::Session().run(argc, argv);
  if (test_cases) {
    std::cout << "duet-tests: " << test_cases->passed << " passed, " << test_cases->failed << " failed"
              << std::endl;
  }
  return result;  // Catch's: the number of failed assertions (at most 255), so non-zero on failure
}
