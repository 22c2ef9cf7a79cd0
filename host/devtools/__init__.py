"""Developer tools: the emulator, firmware builds, a scripted user, the MicroPython runner, local
ports, key files and the demo. Product code never imports from here; tests, benchmarks and the
command lines do."""
