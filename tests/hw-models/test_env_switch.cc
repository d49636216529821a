// The environment's on/off switches (hw-models/env_switch.h).
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "hw-models/env_switch.h"

using trustsim::env_choice;
using trustsim::env_switch;

TEST(EnvSwitch, UnsetOrEmptyGivesTheDefault) {
  unsetenv("TRUSTSIM_TEST_SWITCH");
  EXPECT_TRUE(env_switch("TRUSTSIM_TEST_SWITCH", true));
  EXPECT_FALSE(env_switch("TRUSTSIM_TEST_SWITCH", false));
  setenv("TRUSTSIM_TEST_SWITCH", "", 1);
  EXPECT_TRUE(env_switch("TRUSTSIM_TEST_SWITCH", true));
}

TEST(EnvSwitch, ZeroAndOneOverrideTheDefault) {
  setenv("TRUSTSIM_TEST_SWITCH", "0", 1);
  EXPECT_FALSE(env_switch("TRUSTSIM_TEST_SWITCH", true));
  setenv("TRUSTSIM_TEST_SWITCH", "1", 1);
  EXPECT_TRUE(env_switch("TRUSTSIM_TEST_SWITCH", false));
}

TEST(EnvSwitch, AnyOtherValueIsNamedOnceAndTheDefaultHolds) {
  setenv("TRUSTSIM_TEST_TYPO", "off", 1);
  testing::internal::CaptureStderr();
  EXPECT_TRUE(env_switch("TRUSTSIM_TEST_TYPO", true));
  EXPECT_TRUE(env_switch("TRUSTSIM_TEST_TYPO", true));
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "trustsim: TRUSTSIM_TEST_TYPO=off: expected 0 or 1; using the default (1)\n");
}

TEST(EnvChoice, KnownValuesPassUnknownOnesAreNamedWithTheChoices) {
  unsetenv("TRUSTSIM_TEST_CHOICE");
  EXPECT_EQ(env_choice("TRUSTSIM_TEST_CHOICE", {"in-place", "punch"}, "in-place"), "in-place");
  setenv("TRUSTSIM_TEST_CHOICE", "punch", 1);
  EXPECT_EQ(env_choice("TRUSTSIM_TEST_CHOICE", {"in-place", "punch"}, "in-place"), "punch");
  setenv("TRUSTSIM_TEST_CHOICE", "Punch", 1);
  testing::internal::CaptureStderr();
  EXPECT_EQ(env_choice("TRUSTSIM_TEST_CHOICE", {"in-place", "punch", "zero"}, "in-place"), "in-place");
  EXPECT_EQ(env_choice("TRUSTSIM_TEST_CHOICE", {"in-place", "punch", "zero"}, "in-place"), "in-place");
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(err,
            "trustsim: TRUSTSIM_TEST_CHOICE=Punch: expected in-place, punch or zero; using the default "
            "(in-place)\n");
}
