# Nothing to do before main.py: USB-CDC and the LittleFS filesystem are the port's defaults.
