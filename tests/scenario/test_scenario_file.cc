// Scenario files: each step form parses; each mistake names file:line:field.
#include <gtest/gtest.h>

#include <cstring>
#include <regex>

#include "../support/test_util.h"
#include "hw-models/input_error.h"
#include "scenario/scenario.h"

using namespace trustsim;

TEST(ScenarioFile, SmokeScenarioParses) {
  Scenario sc = load_scenario(std::string(TRUSTSIM_SOURCE_DIR) + "/scenarios/smoke.yaml");
  EXPECT_EQ(sc.name, "smoke");
  ASSERT_GT(sc.steps.size(), 5u);
  EXPECT_EQ(sc.steps[0].kind, Step::Kind::kPowerOn);
  EXPECT_EQ(sc.default_timeout_ps, 10ull * 1000000000000ull);
}

TEST(ScenarioFile, EveryStepFormParses) {
  test::TempDir dir;
  std::string p = test::write_text(dir.file("s.yaml"), R"(name: forms
timeout: 2 s
steps:
  - power-on
  - expect: "a+b"
  - expect: {pattern: "x", timeout: 5 ms}
  - send: "hello world"
  - wait: 10 ms
  - power-cycle
  - power-cycle: {off_time: 250 ms}
  - power-off
)");
  Scenario sc = load_scenario(p);
  ASSERT_EQ(sc.steps.size(), 8u);
  EXPECT_EQ(sc.steps[1].timeout_ps, 2ull * 1000000000000ull);
  EXPECT_EQ(sc.steps[2].timeout_ps, 5ull * 1000000000ull);
  EXPECT_EQ(sc.steps[3].text, "hello world");
  EXPECT_EQ(sc.steps[4].duration_ps, 10ull * 1000000000ull);
  EXPECT_EQ(sc.steps[5].duration_ps, 0u);
  EXPECT_EQ(sc.steps[6].duration_ps, 250ull * 1000000000ull);
  EXPECT_EQ(sc.steps[6].where, p + ":10");
  EXPECT_TRUE(std::regex_search("xxaab", sc.steps[1].pattern));
}

struct BadScenario {
  const char* what;
  const char* body;
  const char* expect;
};

class ScenarioErrors : public ::testing::TestWithParam<BadScenario> {};

TEST_P(ScenarioErrors, NamesFileLineAndField) {
  test::TempDir dir;
  std::string p = test::write_text(dir.file("bad.yaml"), GetParam().body);
  try {
    load_scenario(p);
    FAIL() << GetParam().what << ": accepted";
  } catch (const InputError& e) {
    std::string msg = e.what();
    EXPECT_TRUE(std::regex_search(msg, std::regex(GetParam().expect))) << GetParam().what << ": got: " << msg;
    EXPECT_EQ(msg.rfind(p, 0), 0u) << msg;
  }
}

INSTANTIATE_TEST_SUITE_P(
    EachMistake, ScenarioErrors,
    ::testing::Values(
        BadScenario{"unknown_step", "name: x\nsteps:\n  - power-on\n  - reboot\n", R"(:4: steps\[1\]\.reboot: unknown step)"},
        BadScenario{"unknown_top_key", "name: x\nstep:\n  - power-on\n", R"(:2: step: unknown key)"},
        BadScenario{"missing_name", "steps:\n  - power-on\n", R"(name: missing required key)"},
        BadScenario{"empty_steps", "name: x\nsteps: []\n", R"(steps: expected a non-empty list)"},
        BadScenario{"bad_regex", "name: x\nsteps:\n  - expect: \"a(b\"\n", R"(:3: steps\[0\]\.expect: invalid regular expression)"},
        BadScenario{"bad_timeout", "name: x\nsteps:\n  - expect: {pattern: a, timeout: soon}\n",
                    R"(steps\[0\]\.expect\.timeout: expected a duration)"},
        BadScenario{"unknown_expect_key", "name: x\nsteps:\n  - expect: {pattern: a, timout: 1 s}\n",
                    R"(steps\[0\]\.expect\.timout: unknown key)"},
        BadScenario{"send_without_text", "name: x\nsteps:\n  - send:\n", R"(steps\[0\]\.send: expected the line to type)"},
        BadScenario{"power_on_with_args", "name: x\nsteps:\n  - power-on: now\n", R"(steps\[0\]\.power-on: takes no arguments)"},
        BadScenario{"two_keys_in_step", "name: x\nsteps:\n  - {send: a, expect: b}\n", R"(steps\[0\]: expected a step)"},
        BadScenario{"zero_timeout", "name: x\ntimeout: 0 s\nsteps:\n  - power-on\n", R"(timeout: must be greater than zero)"},
        BadScenario{"yaml_syntax", "name: x\nsteps:\n  - expect: [unclosed, flow\n", R"(YAML syntax error)"}),
    [](const ::testing::TestParamInfo<BadScenario>& i) { return std::string(i.param.what); });

TEST(ScenarioFile, ImageSignTakesKeyBundleListsAndRejectsOtherForms) {
  test::TempDir dir;
  std::string ok = test::write_text(dir.file("ok.yaml"), R"(name: bundle
steps:
  - image-sign: {key: rollover-A, type: revocation, name: r.SRA.bin, add-keys: [production-B], revoke-keys: [production-A, special-A]}
)");
  Scenario sc = load_scenario(ok);
  ASSERT_EQ(sc.steps.size(), 1u);
  EXPECT_EQ(sc.steps[0].add_keys, std::vector<std::string>{"production-B"});
  EXPECT_EQ(sc.steps[0].revoke_keys, (std::vector<std::string>{"production-A", "special-A"}));
  for (const char* bad : {"add-keys: production-B", "add-keys: []", "revoke-keys: {a: b}"}) {
    std::string p = test::write_text(dir.file("bad.yaml"), std::string("name: x\nsteps:\n  - image-sign: {key: rollover-A, "
                                                                       "name: r.bin, ") + bad + "}\n");
    try {
      load_scenario(p);
      ADD_FAILURE() << bad << ": accepted";
    } catch (const InputError& e) {
      EXPECT_TRUE(std::regex_search(std::string(e.what()),
                                    std::regex(R"(:3: steps\[0\]\.image-sign\.(add|revoke)-keys: expected a list of key names)")))
          << bad << ": got: " << e.what();
    }
  }
}
