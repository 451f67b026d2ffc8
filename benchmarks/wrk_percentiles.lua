-- wrk -s wrk_percentiles.lua: after the run, print the latency percentiles wrk's --latency leaves out
-- (in microseconds, one per line), for benchmarks/bench_web.py to parse.
done = function(summary, latency, requests)
  for _, p in ipairs({50, 90, 95, 99}) do
    io.write(string.format("P%d_US %d\n", p, latency:percentile(p)))
  end
end
