# The image's one entry (qosimage.c runs it at reset, in place of the REPL): start the app.
# A loader that checks an update before main runs goes here.
import board
import main

main.run(board.Board())
