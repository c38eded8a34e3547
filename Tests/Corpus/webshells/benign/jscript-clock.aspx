<%@ Page Language="JScript" %>
<script runat="server">
function Page_Load() {
  var greeting = "Hello " + Server.HtmlEncode(Request.QueryString["name"]);
  clock.Text = greeting + ", it is " + (new Date()).toString();
}
</script>
<asp:Label id="clock" runat="server"/>
