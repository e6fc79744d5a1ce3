#!/bin/sh
# A tiny measure driver in sh, for magg tests. It is copied into measure.d/
# under several names; what it does is driven by files in $MAGG_TEST_DIR:
#   <name>.info      --info answer (default: has_cancel true)
#   <name>.describe  --describe answer (default: metric <name>_m)
#   <name>.sleep     seconds to "measure" (a sleep child, stopped on SIGUSR1)
#   <name>.result    result line (default: metric <name>_m = 1); <name>.rc its exit code
# It records its stdin in <name>.in.
name="${OPTUNE_DRIVER_NAME:-$(basename "$0")}"
d="$MAGG_TEST_DIR"
case "$1" in
  --info)
    if [ -f "$d/$name.info" ]; then cat "$d/$name.info"; else echo '{"version":"shm 1.0","has_cancel":true}'; fi
    exit 0 ;;
  --describe)
    if [ -f "$d/$name.describe" ]; then cat "$d/$name.describe"; else
      printf '{"status":"ok","metrics":{"%s_m":{"unit":"count"}}}\n' "$name"
    fi
    exit 0 ;;
esac
cat > "$d/$name.in"
pid=""
trap 'if [ -n "$pid" ]; then kill $pid; fi; echo "{\"status\":\"cancelled\",\"reason\":\"cancelled\",\"message\":\"Exiting due to signal: 10\"}"; exit 3' USR1
echo '{"progress": 10, "message": "measuring"}'
if [ -f "$d/$name.sleep" ]; then
  sleep "$(cat "$d/$name.sleep")" &
  pid=$!
  wait $pid
  pid=""
fi
echo '{"progress": 90, "message": "almost"}'
if [ -f "$d/$name.result" ]; then cat "$d/$name.result"; else
  printf '{"status":"ok","metrics":{"%s_m":{"value":1,"unit":"count"}},"annotations":{"%s":"done"}}\n' "$name" "$name"
fi
exit "$(cat "$d/$name.rc" 2>/dev/null || echo 0)"
