// Scenario files: each step form parses; each mistake names file:line:field.
#include <gtest/gtest.h>

#include <cstring>
#include <regex>

#include "../support/test_util.h"
#include "devkit/input_error.h"
#include "scenario/scenario.h"

using namespace trustsim;

namespace {

// Alternative T of a step's variant `v` (a test failure, not a crash, if it
// holds another).
template <class T, class V>
const T& alt(const V& v, const Step& s) {
  static const T none{};
  const T* p = std::get_if<T>(&v);
  EXPECT_NE(p, nullptr) << s.where << ": " << s.describe() << " is not the kind expected";
  return p ? *p : none;
}
template <class T>
const T& as(const Step& s) {
  return alt<T>(s.what, s);
}
// The typed fault of a fault step, the check of a check step.
template <class T>
const T& fault(const Step& s) {
  return alt<T>(as<FaultStep>(s).fault, s);
}
template <class T>
const T& check(const Step& s) {
  return alt<T>(as<CheckStep>(s).check, s);
}

}  // namespace

TEST(ScenarioFile, SmokeScenarioParses) {
  Scenario sc = load_scenario(std::string(TRUSTSIM_SOURCE_DIR) + "/scenarios/smoke.yaml");
  EXPECT_EQ(sc.name, "smoke");
  ASSERT_GT(sc.steps.size(), 5u);
  EXPECT_NE(sc.steps[0].as<PowerOnStep>(), nullptr);
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
  EXPECT_EQ(as<ExpectStep>(sc.steps[1]).timeout_ps, 2ull * 1000000000000ull);
  EXPECT_EQ(as<ExpectStep>(sc.steps[2]).timeout_ps, 5ull * 1000000000ull);
  EXPECT_EQ(as<SendStep>(sc.steps[3]).text, "hello world");
  EXPECT_TRUE(as<SendStep>(sc.steps[3]).enter);
  EXPECT_EQ(as<WaitStep>(sc.steps[4]).duration_ps, 10ull * 1000000000ull);
  EXPECT_FALSE(as<PowerCycleStep>(sc.steps[5]).off_ps.has_value()) << "the board's off time";
  EXPECT_EQ(as<PowerCycleStep>(sc.steps[6]).off_ps.value_or(0), 250ull * 1000000000ull);
  EXPECT_EQ(sc.steps[6].where, p + ":10");
  EXPECT_NE(sc.steps[7].as<PowerOffStep>(), nullptr);
  EXPECT_TRUE(as<ExpectStep>(sc.steps[1]).pattern.search("xxaab"));
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
        BadScenario{"unknown_step", "name: x\nsteps:\n  - power-on\n  - reboot\n",
                    R"(:4: steps\[1\]\.reboot: unknown step)"},
        BadScenario{"unknown_top_key", "name: x\nstep:\n  - power-on\n", R"(:2: step: unknown key)"},
        BadScenario{"missing_name", "steps:\n  - power-on\n", R"(name: missing required key)"},
        BadScenario{"empty_steps", "name: x\nsteps: []\n", R"(steps: expected a non-empty list)"},
        BadScenario{"bad_regex", "name: x\nsteps:\n  - expect: \"a(b\"\n",
                    R"(:3: steps\[0\]\.expect: invalid regular expression)"},
        BadScenario{"bad_timeout", "name: x\nsteps:\n  - expect: {pattern: a, timeout: soon}\n",
                    R"(steps\[0\]\.expect\.timeout: expected a duration)"},
        BadScenario{"unknown_expect_key", "name: x\nsteps:\n  - expect: {pattern: a, timout: 1 s}\n",
                    R"(steps\[0\]\.expect\.timout: unknown key)"},
        BadScenario{"send_without_text", "name: x\nsteps:\n  - send:\n",
                    R"(steps\[0\]\.send: expected the line to type)"},
        BadScenario{"power_on_with_args", "name: x\nsteps:\n  - power-on: now\n",
                    R"(steps\[0\]\.power-on: takes no arguments)"},
        BadScenario{"two_keys_in_step", "name: x\nsteps:\n  - {send: a, expect: b}\n",
                    R"(steps\[0\]: expected a step)"},
        BadScenario{"zero_timeout", "name: x\ntimeout: 0 s\nsteps:\n  - power-on\n",
                    R"(timeout: must be greater than zero)"},
        BadScenario{"yaml_syntax", "name: x\nsteps:\n  - expect: [unclosed, flow\n", R"(YAML syntax error)"},
        BadScenario{"unknown_variable", "name: x\nvars: {a: 1}\nsteps:\n  - send: \"${b}\"\n",
                    R"(:4: steps\[0\]: unknown variable \$\{b\} \(defined: a\))"},
        BadScenario{"unterminated_variable", "name: x\nsteps:\n  - send: \"${b\"\n", R"(:3: steps\[0\]: unterminated)"},
        BadScenario{"for_without_in", "name: x\nsteps:\n  - for: {var: k, steps: [power-on]}\n",
                    R"(:3: steps\[0\]\.for\.in: missing required key)"},
        BadScenario{"for_bad_var", "name: x\nsteps:\n  - for: {var: 'a b', in: [1], steps: [power-on]}\n",
                    R"(steps\[0\]\.for\.var: expected a name)"},
        BadScenario{"for_body_error_line",
                    "name: x\nsteps:\n  - for:\n      var: k\n      in: [1, 2]\n      steps:\n        - wait: ${k}\n",
                    R"(:7: steps\[0\]\.for\.steps\[0\]\.wait: expected a duration)"},
        BadScenario{"include_missing", "name: x\nsteps:\n  - include: nothere.yaml\n",
                    R"(:3: steps\[0\]\.include: .*nothere.yaml: no such file)"},
        BadScenario{
            "sweep_not_last",
            "name: x\nsteps:\n  - sweep: {devices: [nvram], steps: [power-on], recovery: [power-on]}\n  - power-on\n",
            R"(:3: steps\[0\]\.sweep: a sweep must be the last step)"},
        BadScenario{"sweep_bad_device",
                    "name: x\nsteps:\n  - sweep: {devices: [flash], steps: [power-on], recovery: [power-on]}\n",
                    R"(steps\[0\]\.sweep\.devices: 'flash': expected rom_nor, nvram or bootflash_nand)"},
        BadScenario{
            "sweep_bad_mode",
            "name: x\nsteps:\n  - sweep: {devices: nvram, modes: [half], steps: [power-on], recovery: [power-on]}\n",
            R"(sweep\.modes: 'half': expected before, after or torn)"},
        BadScenario{"sweep_no_recovery", "name: x\nsteps:\n  - sweep: {devices: nvram, steps: [power-on]}\n",
                    R"(steps\[0\]\.sweep\.recovery: missing required key)"},
        BadScenario{"fault_unknown", "name: x\nsteps:\n  - fault: {lightning: {}}\n",
                    R"(:3: steps\[0\]\.fault\.lightning: unknown fault)"},
        BadScenario{"fault_two_forms", "name: x\nsteps:\n  - fault: {power-loss: {device: nvram, after: 1 ms}}\n",
                    R"(fault\.power-loss: give exactly one of)"},
        BadScenario{"fault_bad_mode", "name: x\nsteps:\n  - fault: {power-loss: {device: nvram, mode: sideways}}\n",
                    R"(fault\.power-loss\.mode: expected before, after or torn)"},
        BadScenario{"fault_at_zero", "name: x\nsteps:\n  - fault: {power-loss: {device: bootflash_nand, at: 0}}\n",
                    R"(fault\.power-loss\.at: operations count from 1)"},
        // The two flashes were renamed; the old names say what they are now.
        BadScenario{"old_nor_name", "name: x\nsteps:\n  - fault: {power-loss: {device: boot_flash}}\n",
                    R"(:3: steps\[0\]\.fault\.power-loss\.device: boot_flash was renamed to rom_nor)"},
        BadScenario{
            "old_nand_name_in_sweep",
            "name: x\nsteps:\n  - sweep: {devices: [nvram, bootflash], steps: [power-on], recovery: [power-on]}\n",
            R"(sweep\.devices: 'bootflash': bootflash was renamed to bootflash_nand)"},
        BadScenario{"old_nor_corrupt_step", "name: x\nsteps:\n  - boot-flash-corrupt: {offset: 4}\n",
                    R"(:3: steps\[0\]\.boot-flash-corrupt: boot-flash-corrupt was renamed to rom-nor-corrupt)"},
        BadScenario{"fault_bit_range", "name: x\nsteps:\n  - fault: {bit-flip: {page: 1, byte: 2, bit: 9}}\n",
                    R"(fault\.bit-flip\.bit: expected 0\.\.7)"},
        BadScenario{"fault_tpm_rc_without_command", "name: x\nsteps:\n  - fault: {tpm: {response-code: 0x101}}\n",
                    R"(fault\.tpm: response-code needs the command)"},
        BadScenario{"fault_tpm_two_forms",
                    "name: x\nsteps:\n  - fault: {tpm: {command: Quote, response-code: 1, stay-busy: true}}\n",
                    R"(fault\.tpm: give exactly one of)"},
        BadScenario{"fault_tpm_empty", "name: x\nsteps:\n  - fault: {tpm: {}}\n", R"(fault\.tpm: give exactly one of)"},
        BadScenario{"fault_tpm_command_alone", "name: x\nsteps:\n  - fault: {tpm: {command: Quote}}\n",
                    R"(fault\.tpm: command needs response-code or no-response: true)"},
        BadScenario{"fault_tpm_in_the_board_file_spelling",
                    "name: x\nsteps:\n  - fault: {tpm: {command: Quote, response_code: 1}}\n",
                    R"(fault\.tpm\.response_code: unknown key: this file spells it response-code)"},
        BadScenario{"fault_tpm_unknown_command",
                    "name: x\nsteps:\n  - fault: {tpm: {command: Qoute, response-code: 1}}\n",
                    R"(:3: steps\[0\]\.fault\.tpm\.command: unknown TPM command 'Qoute')"},
        BadScenario{"fault_network_two_forms", "name: x\nsteps:\n  - fault: {network: {refuse: true, stall: true}}\n",
                    R"(fault\.network: give exactly one of)"},
        BadScenario{"fault_network_none", "name: x\nsteps:\n  - fault: {network: {refuse: false}}\n",
                    R"(fault\.network: give exactly one of)"},
        BadScenario{"fault_network_bad_offset", "name: x\nsteps:\n  - fault: {network: {corrupt-byte: middle}}\n",
                    R"(fault\.network\.corrupt-byte: )"},
        BadScenario{"fault_network_seed_without_random",
                    "name: x\nsteps:\n  - fault: {network: {drop-after: 10, seed: 3}}\n",
                    R"(fault\.network\.seed: only corrupt-byte: random takes a seed)"},
        BadScenario{"fault_network_unknown_key", "name: x\nsteps:\n  - fault: {network: {delay: 5}}\n",
                    R"(fault\.network\.delay: unknown key)"},
        BadScenario{"check_unknown", "name: x\nsteps:\n  - check: {pcm: 0}\n",
                    R"(steps\[0\]\.check: expected one of: file, romvar, keys, booted, pcr, attest)"},
        BadScenario{"check_pcr_nothing", "name: x\nsteps:\n  - check: {pcr: 0}\n",
                    R"(steps\[0\]\.check: give equals: HEX or extended: true)"},
        BadScenario{"check_pcr_index", "name: x\nsteps:\n  - check: {pcr: 24, extended: true}\n",
                    R"(check\.pcr: expected a PCR index 0\.\.23)"},
        BadScenario{"sweep_no_devices", "name: x\nsteps:\n  - sweep: {steps: [power-on], recovery: [power-on]}\n",
                    R"(:3: steps\[0\]\.sweep\.devices: missing required key)"},
        BadScenario{"sweep_network_cut_every_zero",
                    "name: x\nsteps:\n  - sweep: {network-cut: {every: 0}, steps: [power-on], recovery: [power-on]}\n",
                    R"(steps\[0\]\.sweep\.network-cut\.every: bytes between two cuts: 1\.\.1073741824)"},
        BadScenario{"sweep_network_cut_and_devices",
                    "name: x\nsteps:\n  - sweep: {devices: [nvram], network-cut: {every: 10}, steps: [power-on], "
                    "recovery: [power-on]}\n",
                    R"(steps\[0\]\.sweep\.devices: a network-cut sweep cuts the network, not the power)"},
        BadScenario{"sweep_network_cut_unknown_key",
                    "name: x\nsteps:\n  - sweep: {network-cut: {each: 10}, steps: [power-on], recovery: [power-on]}\n",
                    R"(steps\[0\]\.sweep\.network-cut\.each: unknown key)"},
        BadScenario{"sweep_network_cut_not_a_map",
                    "name: x\nsteps:\n  - sweep: {network-cut: 10, steps: [power-on], recovery: [power-on]}\n",
                    R"(steps\[0\]\.sweep\.network-cut: expected \{every: BYTES\})"},
        BadScenario{"from_console_without_device",
                    "name: x\nsteps:\n  - fault: {power-loss: {after: 1 ms, from-console: x}}\n",
                    R"(fault\.power-loss: from-console goes with device:)"},
        BadScenario{"from_console_bad_pattern",
                    "name: x\nsteps:\n  - fault: {power-loss: {device: nvram, from-console: \"(x\"}}\n",
                    R"(fault\.power-loss\.from-console: invalid regular expression)"},
        BadScenario{"second_cut_no_devices",
                    "name: x\nsteps:\n  - sweep: {devices: nvram, steps: [power-on], recovery: [power-on], second-cut: "
                    "{modes: torn}}\n",
                    R"(sweep\.second-cut\.devices: missing required key)"},
        BadScenario{"second_cut_bad_device",
                    "name: x\nsteps:\n  - sweep: {devices: nvram, steps: [power-on], recovery: [power-on], second-cut: "
                    "{devices: eeprom}}\n",
                    R"(sweep\.second-cut\.devices: 'eeprom': expected)"},
        BadScenario{"second_cut_unknown_key",
                    "name: x\nsteps:\n  - sweep: {devices: nvram, steps: [power-on], recovery: [power-on], second-cut: "
                    "{devices: nvram, steps: []}}\n",
                    R"(sweep\.second-cut\.steps: unknown key)"},
        BadScenario{"sweep_mode_twice",
                    "name: x\nsteps:\n  - sweep: {devices: nvram, modes: [torn, torn], steps: [power-on], recovery: "
                    "[power-on]}\n",
                    R"(sweep\.modes: 'torn' is named twice)"},
        BadScenario{"check_attest_no_values", "name: x\nsteps:\n  - check: {attest: {nonce: 5}}\n",
                    R"(check\.attest: give the known-good values as kgv: FILE)"},
        BadScenario{"check_attest_no_nonce", "name: x\nsteps:\n  - check: {attest: {kgv: k.json}}\n",
                    R"(check\.attest\.nonce: missing required key)"},
        BadScenario{"check_attest_big_nonce",
                    "name: x\nsteps:\n  - check: {attest: {nonce: 4294967296, kgv: k.json}}\n",
                    R"(check\.attest\.nonce: expected 0\.\.4294967295)"},
        BadScenario{"check_attest_image_prefix", "name: x\nsteps:\n  - check: {attest: {nonce: 1, image: os.bin}}\n",
                    R"(check\.attest\.image: expected bootflash:NAME)"},
        BadScenario{"check_attest_unknown_check",
                    "name: x\nsteps:\n  - check: {attest: {nonce: 1, kgv: k, failing: [OS hash]}}\n",
                    R"(check\.attest\.failing: unknown check 'OS hash' \(expected some of: Platform, )"},
        BadScenario{"check_attest_failing_verifies",
                    "name: x\nsteps:\n  - check: {attest: {nonce: 1, kgv: k, verifies: true, failing: [PCR8]}}\n",
                    R"(check\.attest: failing: names checks that fail, so it needs verifies: false)"},
        BadScenario{"check_bad_sha", "name: x\nsteps:\n  - check: {file: a, sha256: xyz}\n",
                    R"(check\.sha256: expected 64 lower-case hex)"},
        BadScenario{"check_bad_key", "name: x\nsteps:\n  - check: {keys: {active: [prod-A]}}\n",
                    R"(check\.keys: key 'prod-A')"},
        BadScenario{"check_romvar_nothing", "name: x\nsteps:\n  - check: {romvar: BOOT}\n",
                    R"(give equals: VALUE or exists)"},
        BadScenario{"seeded_from_end",
                    "name: x\nsteps:\n  - flash-corrupt: {file: a, offset: seeded, from_end: true}\n",
                    R"(seeded offsets count from the start)"}),
    [](const ::testing::TestParamInfo<BadScenario>& i) { return std::string(i.param.what); });

TEST(ScenarioFile, VariablesLoopsAndIncludesExpand) {
  test::TempDir dir;
  test::write_text(dir.file("common.yaml"), R"(description: shared steps
steps:
  - send: "from include ${who}"
)");
  std::string p = test::write_text(dir.file("s.yaml"), R"(name: expand
seed: 7
vars:
  who: alice
  wait_time: 3 ms
steps:
  - include: common.yaml
  - for:
      var: key
      in: [production-A, production-B]
      steps:
        - send: "${who} uses ${key}"
        - wait: ${wait_time}
  - expect: "done ${who}"
)");
  LoadOptions lo;
  lo.vars["who"] = "bob";
  Scenario sc = load_scenario(p, lo);
  ASSERT_EQ(sc.steps.size(), 6u);
  EXPECT_EQ(sc.seed, 7u);
  EXPECT_EQ(as<SendStep>(sc.steps[0]).text, "from include bob");
  EXPECT_EQ(sc.steps[0].where, dir.file("common.yaml") + ":3");
  EXPECT_EQ(as<SendStep>(sc.steps[1]).text, "bob uses production-A");
  EXPECT_EQ(as<WaitStep>(sc.steps[2]).duration_ps, 3ull * 1000000000ull);
  EXPECT_EQ(as<SendStep>(sc.steps[3]).text, "bob uses production-B");
  EXPECT_EQ(sc.steps[3].where, p + ":12");
  EXPECT_EQ(as<ExpectStep>(sc.steps[5]).text, "done bob");
  EXPECT_TRUE(as<ExpectStep>(sc.steps[5]).pattern.search("done bob"));
  // The file itself is untouched by the substitution: load it again.
  Scenario again = load_scenario(p);
  EXPECT_EQ(as<SendStep>(again.steps[1]).text, "alice uses production-A");
  LoadOptions bad;
  bad.vars["nobody"] = "x";
  EXPECT_THROW(load_scenario(p, bad), InputError);
}

TEST(ScenarioFile, IncludeCycleIsAnError) {
  test::TempDir dir;
  test::write_text(dir.file("a.yaml"), "steps:\n  - include: b.yaml\n");
  test::write_text(dir.file("b.yaml"), "steps:\n  - include: a.yaml\n");
  std::string p = test::write_text(dir.file("s.yaml"), "name: x\nsteps:\n  - include: a.yaml\n");
  try {
    load_scenario(p);
    FAIL() << "accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("includes itself"), std::string::npos) << e.what();
  }
}

// A network-cut sweep (docs/campaigns.md, "Network cuts") sweeps the
// transfer engine in one mode, and a file check may accept either outcome.
TEST(ScenarioFile, NetworkCutSweepAndEitherFileCheckParse) {
  test::TempDir dir;
  std::string p = test::write_text(dir.file("s.yaml"), R"(name: net
vars: {every: "4096"}
steps:
  - sweep:
      network-cut: {every: "${every}"}
      steps: [power-on]
      recovery:
        - check: {file: a.bin, exists: either, size: 10}
)");
  Scenario sc = load_scenario(p);
  ASSERT_TRUE(sc.has_sweep);
  EXPECT_EQ(sc.sweep.network_every, 4096u);
  EXPECT_EQ(sc.sweep.devices, std::vector<std::string>{"netxfer"});
  ASSERT_EQ(sc.sweep.modes.size(), 1u);
  EXPECT_EQ(sc.sweep.modes[0], PowerLoss::Mode::kAfter);
  const auto* c = sc.sweep.recovery.at(0).as<CheckStep>();
  ASSERT_NE(c, nullptr);
  const FileCheck& f = std::get<FileCheck>(c->check);
  EXPECT_TRUE(f.either);
  EXPECT_EQ(f.size, 10u);
  // A power-cut sweep is not a network one.
  std::string q = test::write_text(
      dir.file("q.yaml"), "name: p\nsteps:\n  - sweep: {devices: nvram, steps: [power-on], recovery: [power-on]}\n");
  EXPECT_EQ(load_scenario(q).sweep.network_every, 0u);
}

TEST(ScenarioFile, FaultCheckAndSweepStepsParse) {
  test::TempDir dir;
  std::string p = test::write_text(dir.file("s.yaml"), R"(name: faults
steps:
  - fault: {power-loss: {device: nvram, at: 3, mode: torn, seed: 9}}
  - fault: {power-loss: {after: 150 ms}}
  - fault: {power-loss: {on-console: "Erasing"}}
  - fault: {bit-flip: {page: 64, byte: 10, bit: 3}}
  - fault: {bit-flips: {page: 64, count: 4}}
  - fault: {stuck-bit: {page: 64, byte: 1, bit: 0, value: 1}}
  - fault: {bad-block: {block: 12, erase: 2}}
  - wait-power-off: {timeout: 2 s}
  - check: {file: a.bin, size: 10}
  - check: {file: b.bin, exists: false}
  - check: {romvar: BOOT, equals: "bootflash:x"}
  - check: {keys: {active: [production-A], revoked: [special-A], absent: [production-C], both-copies: true}}
  - check: {booted: {image: "bootflash:x", key: production-A}}
  - flash-put: {from: /etc/hostname, name: h.txt}
  - flash-corrupt: {file: a.bin, offset: seeded}
  - sweep:
      devices: [nvram, bootflash_nand]
      modes: [torn]
      from: "Copying"
      to: "copied"
      steps:
        - send: "copy a b"
      recovery:
        - power-on
)");
  Scenario sc = load_scenario(p);
  ASSERT_EQ(sc.steps.size(), 15u);
  const PowerLossAtOperation& cut = fault<PowerLossAtOperation>(sc.steps[0]);
  EXPECT_EQ(cut.device, "nvram");
  EXPECT_EQ(cut.cut.mode, PowerLoss::Mode::kTorn);
  EXPECT_EQ(cut.cut.at_operation, 3u);
  EXPECT_EQ(as<FaultStep>(sc.steps[0]).seed.value_or(0), 9u);
  EXPECT_EQ(fault<PowerLossAfter>(sc.steps[1]).after_ps, 150ull * 1000000000ull);
  EXPECT_EQ(fault<PowerLossOnConsole>(sc.steps[2]).text, "Erasing");
  const nand::Fault& flip = fault<nand::Fault>(sc.steps[3]);
  ASSERT_TRUE(std::holds_alternative<nand::BitFlip>(flip));
  EXPECT_EQ(std::get<nand::BitFlip>(flip).byte, 10u);
  EXPECT_EQ(std::get<nand::BitFlip>(flip).bit, 3u);
  ASSERT_TRUE(std::holds_alternative<nand::RandomBitFlips>(fault<nand::Fault>(sc.steps[4])));
  EXPECT_EQ(std::get<nand::RandomBitFlips>(fault<nand::Fault>(sc.steps[4])).count, 4u);
  EXPECT_FALSE(as<FaultStep>(sc.steps[4]).seed.has_value()) << "derived from the run seed when armed";
  ASSERT_TRUE(std::holds_alternative<nand::StuckBit>(fault<nand::Fault>(sc.steps[5])));
  EXPECT_TRUE(std::get<nand::StuckBit>(fault<nand::Fault>(sc.steps[5])).value);
  ASSERT_TRUE(std::holds_alternative<nand::BadOnNthErase>(fault<nand::Fault>(sc.steps[6])));
  EXPECT_EQ(std::get<nand::BadOnNthErase>(fault<nand::Fault>(sc.steps[6])).n, 2u);
  EXPECT_EQ(as<WaitPowerOffStep>(sc.steps[7]).timeout_ps, 2ull * 1000000000000ull);
  EXPECT_EQ(check<FileCheck>(sc.steps[8]).size.value_or(0), 10u);
  EXPECT_FALSE(check<FileCheck>(sc.steps[9]).exists);
  EXPECT_EQ(check<RomvarCheck>(sc.steps[10]).equals, "bootflash:x");
  EXPECT_EQ(check<KeysCheck>(sc.steps[11]).revoked, std::vector<std::string>{"special-A"});
  EXPECT_TRUE(check<KeysCheck>(sc.steps[11]).both_copies);
  EXPECT_EQ(check<BootedCheck>(sc.steps[12]).key, "production-A");
  EXPECT_EQ(as<FlashPutStep>(sc.steps[13]).from, "/etc/hostname");
  EXPECT_TRUE(as<FlashCorruptStep>(sc.steps[14]).seeded_offset);
  ASSERT_TRUE(sc.has_sweep);
  EXPECT_EQ(sc.sweep.devices, (std::vector<std::string>{"nvram", "bootflash_nand"}));
  ASSERT_EQ(sc.sweep.modes.size(), 1u);
  EXPECT_EQ(sc.sweep.from_text, "Copying");
  EXPECT_EQ(sc.sweep.steps.size(), 1u);
  EXPECT_EQ(sc.sweep.recovery.size(), 1u);
}

// TPM and network fault steps hold the device's own typed fault, built by
// the parser (the runner arms it as it is).
TEST(ScenarioFile, TpmAndNetworkFaultStepsHoldTypedFaults) {
  test::TempDir dir;
  std::string p = test::write_text(dir.file("f.yaml"), R"(name: typed
steps:
  - fault: {tpm: {command: Quote, response-code: 0x101}}
  - fault: {tpm: {command: PCR_Extend, no-response: true}}
  - fault: {tpm: {no-response: true}}
  - fault: {tpm: {stay-busy: true}}
  - fault: {network: {refuse: true}}
  - fault: {network: {stall: true}}
  - fault: {network: {drop-after: 1200}}
  - fault: {network: {corrupt-byte: 100}}
  - fault: {network: {corrupt-byte: random, seed: 9}}
)");
  Scenario sc = load_scenario(p);
  ASSERT_EQ(sc.steps.size(), 9u);
  const auto* rc = std::get_if<tpm::ResponseCode>(&fault<tpm::Fault>(sc.steps[0]));
  ASSERT_NE(rc, nullptr);
  EXPECT_EQ(rc->command, tpm::command_code_by_name("Quote"));
  EXPECT_NE(rc->command, 0u);
  EXPECT_EQ(rc->rc, 0x101u);
  const auto* nr = std::get_if<tpm::NoResponse>(&fault<tpm::Fault>(sc.steps[1]));
  ASSERT_NE(nr, nullptr);
  EXPECT_EQ(nr->command, tpm::command_code_by_name("PCR_Extend"));
  ASSERT_TRUE(std::holds_alternative<tpm::NoResponse>(fault<tpm::Fault>(sc.steps[2])));
  EXPECT_EQ(std::get<tpm::NoResponse>(fault<tpm::Fault>(sc.steps[2])).command, 0u) << "no command: every command";
  EXPECT_TRUE(std::holds_alternative<tpm::StayBusy>(fault<tpm::Fault>(sc.steps[3])));
  EXPECT_EQ(sc.steps[3].describe(), "fault tpm every command");
  EXPECT_EQ(sc.steps[0].describe(), "fault tpm Quote");
  EXPECT_TRUE(std::holds_alternative<net::Refuse>(fault<net::Fault>(sc.steps[4])));
  EXPECT_TRUE(std::holds_alternative<net::Stall>(fault<net::Fault>(sc.steps[5])));
  ASSERT_TRUE(std::holds_alternative<net::DropAfter>(fault<net::Fault>(sc.steps[6])));
  EXPECT_EQ(std::get<net::DropAfter>(fault<net::Fault>(sc.steps[6])).bytes, 1200u);
  ASSERT_TRUE(std::holds_alternative<net::CorruptByte>(fault<net::Fault>(sc.steps[7])));
  EXPECT_EQ(std::get<net::CorruptByte>(fault<net::Fault>(sc.steps[7])).offset, 100u);
  EXPECT_TRUE(std::holds_alternative<net::CorruptSeededByte>(fault<net::Fault>(sc.steps[8])));
  EXPECT_EQ(as<FaultStep>(sc.steps[8]).seed.value_or(0), 9u);
  EXPECT_EQ(sc.steps[6].describe(), "fault network: next transfer dropped after 1200 bytes");
}

TEST(ScenarioFile, DerivedSeedsDependOnRunSeedAndPosition) {
  EXPECT_EQ(derive_seed(1, 5), derive_seed(1, 5));
  EXPECT_NE(derive_seed(1, 5), derive_seed(2, 5));
  EXPECT_NE(derive_seed(1, 5), derive_seed(1, 6));
}
TEST(ScenarioFile, ImageSignTakesKeyBundleListsAndRejectsOtherForms) {
  test::TempDir dir;
  std::string ok = test::write_text(dir.file("ok.yaml"), R"(name: bundle
steps:
  - image-sign: {key: rollover-A, type: revocation, name: r.SRA.bin, add-keys: [production-B], revoke-keys: [production-A, special-A]}
)");
  Scenario sc = load_scenario(ok);
  ASSERT_EQ(sc.steps.size(), 1u);
  EXPECT_EQ(as<ImageSignStep>(sc.steps[0]).add_keys, std::vector<std::string>{"production-B"});
  EXPECT_EQ(as<ImageSignStep>(sc.steps[0]).revoke_keys, (std::vector<std::string>{"production-A", "special-A"}));
  for (const char* bad : {"add-keys: production-B", "add-keys: []", "revoke-keys: {a: b}"}) {
    std::string p =
        test::write_text(dir.file("bad.yaml"), std::string("name: x\nsteps:\n  - image-sign: {key: rollover-A, "
                                                           "name: r.bin, ") +
                                                   bad + "}\n");
    try {
      load_scenario(p);
      ADD_FAILURE() << bad << ": accepted";
    } catch (const InputError& e) {
      EXPECT_TRUE(std::regex_search(
          std::string(e.what()),
          std::regex(R"(:3: steps\[0\]\.image-sign\.(add|revoke)-keys: expected a list of key names)")))
          << bad << ": got: " << e.what();
    }
  }
}
