/* Entry for every firmware stage: stack, vectors, .data, .bss, main().
 * Linker scripts provide the symbols. Runs at EL1 with the MMU off. */
    .section .text.start, "ax"
    .global _start
_start:
    ldr     x0, =__stack_top
    mov     sp, x0
    ldr     x0, =fw_vectors
    msr     vbar_el1, x0
    isb
    /* copy .data from its load address (ROM for Boot0) */
    ldr     x0, =__data_start
    ldr     x1, =__data_end
    ldr     x2, =__data_load
1:  cmp     x0, x1
    b.hs    2f
    ldrb    w3, [x2], #1
    strb    w3, [x0], #1
    b       1b
    /* zero .bss: bytes up to an 8-byte boundary, then 64 bytes a step,
     * then words, then the last bytes. A byte loop was 4 guest instructions
     * a byte (ROMmon's 330 KiB .bss: 1.35 M of the 1.5 M instructions to its
     * prompt); only aligned stores, as the MMU is off. */
2:  ldr     x0, =__bss_start
    ldr     x1, =__bss_end
3:  cmp     x0, x1
    b.hs    4f
    tst     x0, #7
    b.eq    31f
    strb    wzr, [x0], #1
    b       3b
31: sub     x2, x1, x0
    cmp     x2, #64
    b.lo    32f
    stp     xzr, xzr, [x0]
    stp     xzr, xzr, [x0, #16]
    stp     xzr, xzr, [x0, #32]
    stp     xzr, xzr, [x0, #48]
    add     x0, x0, #64
    b       31b
32: cmp     x2, #8
    b.lo    33f
    str     xzr, [x0], #8
    sub     x2, x2, #8
    b       32b
33: cmp     x0, x1
    b.hs    4f
    strb    wzr, [x0], #1
    b       33b
    /* static constructors (C++ globals that need one) */
4:  ldr     x19, =__init_array_start
    ldr     x20, =__init_array_end
5:  cmp     x19, x20
    b.hs    6f
    ldr     x0, [x19], #8
    blr     x0
    b       5b
6:  bl      fw_main
7:  wfi
    b       7b

/* Vector table: every entry saves nothing and reports the exception. */
    .macro vector_entry kind
    .balign 0x80
    mov     x0, #\kind
    mrs     x1, esr_el1
    mrs     x2, elr_el1
    mrs     x3, far_el1
    b       fw_exception
    .endm

    .section .text.vectors, "ax"
    .balign 0x800
    .global fw_vectors
fw_vectors:
    vector_entry 0
    vector_entry 1
    vector_entry 2
    vector_entry 3
    vector_entry 4
    vector_entry 5
    vector_entry 6
    vector_entry 7
    vector_entry 8
    vector_entry 9
    vector_entry 10
    vector_entry 11
    vector_entry 12
    vector_entry 13
    vector_entry 14
    vector_entry 15

/* Jump to a loaded stage: x0 = entry. Never returns. */
    .section .text
    .global fw_jump
fw_jump:
    dsb     sy
    isb
    br      x0
