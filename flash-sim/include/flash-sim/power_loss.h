// The power-loss fault every flash model accepts is the board-wide PowerCut
// (hw-models/device.h), so a campaign arms NVRAM, NOR and NAND the same way.
#pragma once
#include "hw-models/device.h"

namespace trustsim {

using FlashPowerLoss = PowerCut;

}  // namespace trustsim
