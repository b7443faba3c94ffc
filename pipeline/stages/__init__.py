"""One module per stage; each core is a pure function of data frames and config."""
