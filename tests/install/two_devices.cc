// An out-of-tree SystemC platform that uses the installed trustsim models
// (pkg-config trustsim-models): it maps the power controller and the crypto
// engine on its own little bus and drives them. Built and run by
// check_install.sh; prints "two-devices: ok" when every check holds.
#include <tlm_utils/simple_initiator_socket.h>
#include <tlm_utils/simple_target_socket.h>
#include <systemc>
#include <tlm>

#include <cstdio>
#include <cstring>

#include "devices/crypto_engine.h"
#include "devices/power_ctrl.h"
#include "trustsim/crypto_regs.h"
#include "trustsim/mailbox_abi.h"

using namespace sc_core;

// An address decoder: 0x1000.. the power controller, 0x2000.. the crypto
// engine; anything else is an address error.
struct Bus : sc_module {
  tlm_utils::simple_target_socket<Bus> in{"in"};
  tlm_utils::simple_initiator_socket<Bus> power{"to_power"}, crypto{"to_crypto"};
  SC_CTOR(Bus) { in.register_b_transport(this, &Bus::route); }
  void route(tlm::tlm_generic_payload& gp, sc_time& delay) {
    uint64_t a = gp.get_address();
    if (a >= 0x1000 && a < 0x1000 + TS_POWER_SIZE) {
      gp.set_address(a - 0x1000);
      power->b_transport(gp, delay);
    } else if (a >= 0x2000 && a < 0x2000 + TS_CRYPTO_SIZE) {
      gp.set_address(a - 0x2000);
      crypto->b_transport(gp, delay);
    } else {
      gp.set_response_status(tlm::TLM_ADDRESS_ERROR_RESPONSE);
    }
  }
};

struct Cpu : sc_module {
  tlm_utils::simple_initiator_socket<Cpu> out{"out"};
  int failures = 0;
  bool done = false;
  SC_CTOR(Cpu) { SC_THREAD(run); }
  tlm::tlm_response_status access(bool write, uint64_t addr, void* data, unsigned len) {
    tlm::tlm_generic_payload gp;
    gp.set_command(write ? tlm::TLM_WRITE_COMMAND : tlm::TLM_READ_COMMAND);
    gp.set_address(addr);
    gp.set_data_ptr(static_cast<unsigned char*>(data));
    gp.set_data_length(len);
    gp.set_streaming_width(len);
    sc_time d = SC_ZERO_TIME;
    out->b_transport(gp, d);
    wait(d);
    return gp.get_response_status();
  }
  void check(bool ok, const char* what) {
    if (!ok) {
      printf("two-devices: FAILED: %s\n", what);
      ++failures;
    }
  }
  void run() {
    uint64_t v = 1000000;  // sleep 1 ms of board time
    check(access(true, 0x1000 + TS_POWER_SLEEP_NS, &v, 8) == tlm::TLM_OK_RESPONSE, "sleep");
    check(access(false, 0x1000 + TS_POWER_BOARD_TIME_NS, &v, 8) == tlm::TLM_OK_RESPONSE, "board time read");
    check(v == 1000000, "board time after the sleep is 1 ms");
    check(access(false, 0x1000 + TS_POWER_BOARD_TIME_NS, &v, 4) == tlm::TLM_ADDRESS_ERROR_RESPONSE,
          "a 4-byte access is an address error");

    uint64_t cmd = TS_CRYPTO_CMD_SHA256;
    check(access(true, 0x2000 + TS_CRYPTO_CTRL, &cmd, 8) == tlm::TLM_OK_RESPONSE, "start SHA-256");
    char abc[] = "abc";
    check(access(true, 0x2000 + TS_CRYPTO_DATA, abc, 3) == tlm::TLM_OK_RESPONSE, "hash data");
    unsigned char digest[32];
    check(access(false, 0x2000 + TS_CRYPTO_DIGEST, digest, 32) == tlm::TLM_OK_RESPONSE, "digest");
    static const unsigned char kAbc[4] = {0xba, 0x78, 0x16, 0xbf};  // SHA-256("abc") begins so
    check(memcmp(digest, kAbc, 4) == 0, "SHA-256 of abc");
    check(sc_time_stamp() == sc_time(1000000, SC_NS) + sc_time(30, SC_NS), "3 bytes at 100 MB/s after the sleep");
    done = true;
  }
};

int sc_main(int, char**) {
  trustsim::PowerDomain power;
  trustsim::PowerController pwr("power", power, 0);
  trustsim::CryptoConfig cfg;
  cfg.sha256_bytes_per_s = 100000000;
  cfg.sha512_bytes_per_s = 100000000;
  cfg.rsa_verify_ps = 1000000;
  trustsim::CryptoEngine crypto("crypto", power, cfg);
  Bus bus("bus");
  Cpu cpu("cpu");
  cpu.out.bind(bus.in);
  bus.power.bind(pwr.socket);
  bus.crypto.bind(crypto.socket);
  power.switch_on(TS_RESET_POWER_ON);
  sc_start();
  if (!cpu.done || cpu.failures) return 1;
  printf("two-devices: ok\n");
  return 0;
}
