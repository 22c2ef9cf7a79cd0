# The RP2350 image's C glue (firmware/micropython/rp2350/image): see qosrp2.c.
add_library(usermod_qosrp2 INTERFACE)
target_sources(usermod_qosrp2 INTERFACE ${CMAKE_CURRENT_LIST_DIR}/qosrp2.c)
target_link_libraries(usermod INTERFACE usermod_qosrp2)
